// StopScanner: text pieces in, the text before the first stop string out, across any split into pieces.
#include <gtest/gtest.h>

#include "server/stop_strings.h"

namespace fs {
namespace {

// Feeds the pieces, returns what was emitted (and whether a stop was found).
std::pair<std::string, bool> scan(const std::vector<std::string>& stops, const std::vector<std::string>& pieces) {
  StopScanner s(stops);
  std::string out;
  for (const auto& p : pieces) out += s.push(p);
  out += s.finish();
  return {out, s.stopped()};
}

TEST(StopScanner, NoStopsPassesEverythingAtOnce) {
  StopScanner s({});
  EXPECT_EQ(s.push("abc"), "abc");
  EXPECT_EQ(s.push("\n\n"), "\n\n");
  EXPECT_EQ(s.finish(), "");
  EXPECT_FALSE(s.stopped());
}

TEST(StopScanner, HoldsBackOnlyWhatCouldStartAStop) {
  StopScanner s({"\n\n"});
  EXPECT_EQ(s.push("The end"), "The end");
  EXPECT_EQ(s.push("\n"), "");  // might be the first half of "\n\n"
  EXPECT_EQ(s.push("x"), "\nx");
  EXPECT_EQ(s.push("\n"), "");
  EXPECT_EQ(s.push("\nUser"), "");
  EXPECT_TRUE(s.stopped());
  EXPECT_EQ(s.push("more"), "");
  EXPECT_EQ(s.finish(), "");
}

TEST(StopScanner, EveryWayOfSplittingGivesTheSameText) {
  const std::string text = "Alpha beta. User: hi. Assistant: ok";
  const std::vector<std::string> stops = {"User:", "Assistant:"};
  for (size_t a = 0; a <= text.size(); ++a)
    for (size_t b = a; b <= text.size(); b += 3) {
      const auto [out, stopped] = scan(stops, {text.substr(0, a), text.substr(a, b - a), text.substr(b)});
      ASSERT_EQ(out, "Alpha beta. ") << a << " " << b;
      ASSERT_TRUE(stopped);
    }
}

TEST(StopScanner, EarliestStopWinsWhenTwoCompleteTogether) {
  EXPECT_EQ(scan({"cd", "bcde"}, {"a", "bcdef"}).first, "a");
  EXPECT_EQ(scan({"bcde", "cd"}, {"a", "bcdef"}).first, "a");
  EXPECT_EQ(scan({"de", "c"}, {"ab", "cde"}).first, "ab");
}

TEST(StopScanner, UnfinishedPrefixIsReleasedAtTheEnd) {
  const auto [out, stopped] = scan({"STOP"}, {"go ", "ST", "O"});
  EXPECT_EQ(out, "go STO");
  EXPECT_FALSE(stopped);
}

TEST(StopScanner, OverlappingPrefixesKeepTheLongestCandidate) {
  // "aab" must be found in "aaab" however it is split: the held tail is "aa", not "a".
  EXPECT_EQ(scan({"aab"}, {"x", "a", "a", "a", "b", "y"}).first, "xa");
  EXPECT_EQ(scan({"aab"}, {"xaa", "ab"}).first, "xa");
}

TEST(StopScanner, MultibyteTextIsNeverSplit) {
  StopScanner s({"él"});
  EXPECT_EQ(s.push("caf\xc3\xa9"), "caf");  // "é" could begin "él"
  EXPECT_EQ(s.push("!"), "\xc3\xa9!");
  EXPECT_EQ(s.push("\xc3\xa9l"), "");
  EXPECT_TRUE(s.stopped());
}

TEST(StopScanner, EmptyStopStringsAreIgnored) { EXPECT_EQ(scan({""}, {"abc"}).first, "abc"); }

}  // namespace
}  // namespace fs
