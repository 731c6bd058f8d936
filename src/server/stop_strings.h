// Stop strings for streamed text: the caller asks generation to end where the text contains one of a few strings
// ("\n\n", "User:"), and that string and everything after it are never shown.
//
// Text arrives in pieces (one token's worth at a time from StreamDecoder), and a stop string may straddle pieces:
//
//   pieces   "The end" | "\n" | "\nUser"          stop "\n\n"
//   emitted  "The end"   ""     (stop found: "The end" was all)
//
// So the scanner holds back the longest tail of what it has seen that could still grow into a stop string (here
// the "\n"), and emits only text that no later piece can turn into part of a stop string. Stop strings start with
// a UTF-8 lead byte, so a held-back tail never splits a character.
#pragma once
#include <string>
#include <vector>

namespace fs {

class StopScanner {
 public:
  explicit StopScanner(std::vector<std::string> stops);
  // Text that is now safe to show. Once a stop string is found, returns the text before it and stopped() is true.
  std::string push(const std::string& piece);
  // The text held back at the end of generation (nothing after a stop).
  std::string finish();
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  bool stopped_ = false;
};

}  // namespace fs
