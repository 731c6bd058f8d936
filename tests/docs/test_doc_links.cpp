// The docs are a main product, and most of what they claim points somewhere: a source file, a log, another
// chapter's section. This test reads every Markdown file of the repository and checks that each relative link
// `[text](path#anchor)` names a file or folder that exists and, where it names a heading of a Markdown file, that
// the heading exists — with GitHub's rule for heading anchors (the heading's text, links reduced to their text,
// lower-cased, punctuation dropped, spaces turned into hyphens, "-1", "-2", … appended to repeats).
#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.h"

namespace fs::test {
namespace {

namespace stdfs = std::filesystem;

const stdfs::path kRoot = FS_SOURCE_DIR;

// The Markdown files under the source tree, without build folders, hidden folders and test data.
std::vector<stdfs::path> markdown_files() {
  std::vector<stdfs::path> out;
  for (auto it = stdfs::recursive_directory_iterator(kRoot); it != stdfs::recursive_directory_iterator(); ++it) {
    const std::string name = it->path().filename().string();
    if (it->is_directory() && (name.rfind('.', 0) == 0 || name.rfind("build", 0) == 0 || name == "data")) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file() && it->path().extension() == ".md") out.push_back(it->path());
  }
  return out;
}

// The file's lines, those inside fenced code blocks (``` … ```) blanked: links in code are examples, not links.
std::vector<std::string> prose_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  bool fenced = false;
  for (std::string line; std::getline(in, line);) {
    const size_t first = line.find_first_not_of(' ');
    const bool fence = first != std::string::npos && line.compare(first, 3, "```") == 0;
    if (fence) fenced = !fenced;
    out.push_back(fence || fenced ? std::string() : line);
  }
  return out;
}

// One UTF-8 code point at s[i] (advancing i); malformed bytes come back as themselves.
uint32_t next_code_point(const std::string& s, size_t& i) {
  const auto b = static_cast<unsigned char>(s[i++]);
  const int extra = b >= 0xF0 ? 3 : b >= 0xE0 ? 2 : b >= 0xC0 ? 1 : 0;
  uint32_t cp = extra == 0 ? b : b & (0x3F >> extra);
  for (int k = 0; k < extra && i < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i++]) & 0x3F);
  return cp;
}

// Whether GitHub keeps a non-ASCII code point in an anchor: letters and digits yes, punctuation and symbols no.
// An approximation by block, enough for the characters these docs use (—, –, ×, ≥, →, ·, …; µ and Greek kept).
bool kept_in_anchor(uint32_t cp) {
  if (cp >= 0x80 && cp <= 0xBF) return cp == 0xB5 || cp == 0xAA || cp == 0xBA;  // Latin-1 signs; µ ª º kept
  if (cp == 0xD7 || cp == 0xF7) return false;                                    // × ÷
  if (cp >= 0x2000 && cp <= 0x2BFF) return false;  // punctuation, super/subscripts, arrows, math, shapes
  if (cp >= 0x3000 && cp <= 0x303F) return false;  // CJK punctuation
  return true;
}

std::string anchor_of(std::string heading) {
  heading = std::regex_replace(heading, std::regex(R"(\[([^\]]*)\]\([^)]*\))"), "$1");  // [text](url) → text
  std::string out;
  for (size_t i = 0; i < heading.size();) {
    const size_t at = i;
    const uint32_t cp = next_code_point(heading, i);
    if (cp < 0x80) {
      const char c = char(cp);
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') out += char(std::tolower(c));
      else if (c == ' ') out += '-';
    } else if (kept_in_anchor(cp)) {
      out.append(heading, at, i - at);
    }
  }
  return out;
}

// The anchors of a Markdown file's headings (ATX headings, "#" to "######", outside code blocks).
std::set<std::string> anchors_of(const stdfs::path& md) {
  std::set<std::string> out;
  std::map<std::string, int> seen;
  static const std::regex heading(R"(^#{1,6}\s+(.*?)\s*#*\s*$)");
  for (const std::string& line : prose_lines(read_text_file(md.string()))) {
    std::smatch m;
    if (!std::regex_match(line, m, heading)) continue;
    const std::string a = anchor_of(m[1].str());
    const int n = seen[a]++;
    out.insert(n == 0 ? a : a + "-" + std::to_string(n));
  }
  return out;
}

TEST(DocLinks, AnchorsFollowGitHubsRule) {
  EXPECT_EQ(anchor_of("6. Where the 80% goal stands, and what would get there"),
            "6-where-the-80-goal-stands-and-what-would-get-there");
  EXPECT_EQ(anchor_of("7. The persistent decode kernel (opt-in): [`decode_step.cu`](../src/x/decode_step.cu)"),
            "7-the-persistent-decode-kernel-opt-in-decode_stepcu");
  EXPECT_EQ(anchor_of("Decode step, batch 1 — µs per token × 2 → ok"), "decode-step-batch-1--µs-per-token--2--ok");
}

TEST(DocLinks, EveryRelativeLinkResolves) {
  const auto files = markdown_files();
  ASSERT_FALSE(files.empty()) << "no Markdown files under " << kRoot;
  std::map<stdfs::path, std::set<std::string>> anchors;
  auto anchors_for = [&](const stdfs::path& md) -> const std::set<std::string>& {
    auto it = anchors.find(md);
    if (it == anchors.end()) it = anchors.emplace(md, anchors_of(md)).first;
    return it->second;
  };
  static const std::regex link(R"(\]\(([^)\s]+)\))");
  static const std::regex scheme(R"(^[a-zA-Z][a-zA-Z0-9+.-]*:)");
  int checked = 0;
  for (const stdfs::path& md : files) {
    const std::vector<std::string> lines = prose_lines(read_text_file(md.string()));
    for (size_t n = 0; n < lines.size(); ++n) {
      const std::string& line = lines[n];
      for (auto it = std::sregex_iterator(line.begin(), line.end(), link); it != std::sregex_iterator(); ++it) {
        const std::string target = (*it)[1].str();
        if (std::regex_search(target, scheme)) continue;  // http:, https:, mailto:
        ++checked;
        const size_t hash = target.find('#');
        const std::string path = target.substr(0, hash);
        const std::string anchor = hash == std::string::npos ? "" : target.substr(hash + 1);
        const stdfs::path resolved = path.empty() ? md : (md.parent_path() / path).lexically_normal();
        const std::string where = stdfs::relative(md, kRoot).string() + " (line " + std::to_string(n + 1) +
                                  "): link " + target;
        if (!stdfs::exists(resolved)) {
          ADD_FAILURE() << where << ": no such file or folder";
          continue;
        }
        if (!anchor.empty() && resolved.extension() == ".md" && !anchors_for(resolved).count(anchor))
          ADD_FAILURE() << where << ": no heading with that anchor in " << stdfs::relative(resolved, kRoot).string();
      }
    }
  }
  EXPECT_GT(checked, 100) << "the docs link to the code they explain; far fewer links means the scan broke";
}

}  // namespace
}  // namespace fs::test
