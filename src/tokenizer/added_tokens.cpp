// The added-token matcher, see added_tokens.h.
#include "tokenizer/added_tokens.h"

#include <algorithm>

#include "tokenizer/components.h"
#include "tokenizer/regex.h"
#include "tokenizer/utf8.h"

namespace fs::tok {
namespace {

// Rust's char::is_alphanumeric: Alphabetic or numeric (Nd, Nl, No). Only single_word tokens need it.
bool is_alphanumeric(std::string_view ch) {
  static const Regex word_char("\\A[\\p{Alphabetic}\\p{N}]\\z", false, "added token single_word");
  bool found = false;
  word_char.find_all(ch, [&](size_t, size_t) { found = true; });
  return found;
}

std::string_view last_char(std::string_view s) {
  size_t k = s.size();
  while (k > 0 && (static_cast<unsigned char>(s[k - 1]) & 0xC0) == 0x80) --k;
  return k > 0 ? s.substr(k - 1) : std::string_view();
}

std::string_view first_char(std::string_view s) {
  return s.empty() ? s : s.substr(0, std::min(s.size(), utf8_len(static_cast<unsigned char>(s[0]))));
}

}  // namespace

void AddedTokenMatcher::build(const std::vector<const AddedToken*>& tokens, const std::vector<std::string>& patterns) {
  nodes_.assign(1, Node{});
  tokens_ = tokens;
  std::fill(std::begin(can_start_), std::end(can_start_), false);
  for (size_t k = 0; k < tokens.size(); ++k) {
    const std::string& p = patterns[k];
    if (p.empty()) continue;
    can_start_[static_cast<unsigned char>(p[0])] = true;
    int32_t node = 0;
    for (unsigned char c : p) {
      auto& children = nodes_[node].children;
      auto it = std::find_if(children.begin(), children.end(), [&](const auto& ch) { return ch.first == c; });
      if (it != children.end()) {
        node = it->second;
      } else {
        const int32_t child = int32_t(nodes_.size());
        nodes_[node].children.emplace_back(c, child);
        nodes_.push_back(Node{});
        node = child;
      }
    }
    if (nodes_[node].token < 0) nodes_[node].token = int32_t(k);  // the same text twice: the first one wins
  }
}

void AddedTokenMatcher::split(std::string_view text, FunctionRef<void(std::string_view)> on_text,
                              FunctionRef<void(const AddedToken&)> on_token) const {
  size_t emitted = 0;  // text before this offset has been passed on
  size_t i = 0;
  while (i < text.size()) {
    if (!can_start_[static_cast<unsigned char>(text[i])]) {
      ++i;
      continue;
    }
    // Longest token starting at i.
    int32_t node = 0, best = -1;
    size_t best_end = 0;
    for (size_t j = i; j < text.size(); ++j) {
      const auto& children = nodes_[node].children;
      const unsigned char c = static_cast<unsigned char>(text[j]);
      auto it = std::find_if(children.begin(), children.end(), [&](const auto& ch) { return ch.first == c; });
      if (it == children.end()) break;
      node = it->second;
      if (nodes_[node].token >= 0) {
        best = nodes_[node].token;
        best_end = j + 1;
      }
    }
    if (best < 0) {
      ++i;
      continue;
    }
    const AddedToken& tok = *tokens_[best];
    size_t start = i, stop = best_end;
    i = best_end;  // the automaton resumes after the match, accepted or not
    if (tok.single_word) {
      const std::string_view before = last_char(text.substr(0, start)), after = first_char(text.substr(stop));
      const bool alone_before = before.empty() || !is_alphanumeric(before);
      const bool alone_after = after.empty() || !is_alphanumeric(after);
      if (!alone_before || !alone_after) continue;
    }
    if (tok.lstrip) {
      size_t s = start;
      while (s > emitted) {
        const std::string_view ch = last_char(text.substr(0, s));
        size_t k = 0;
        if (!is_white_space(utf8_next(ch, k))) break;
        s -= ch.size();
      }
      start = s;
    }
    if (tok.rstrip) {
      while (stop < text.size()) {
        size_t k = stop;
        if (!is_white_space(utf8_next(text, k))) break;
        stop = k;
      }
      i = std::max(i, stop);
    }
    if (start > emitted) on_text(text.substr(emitted, start - emitted));
    on_token(tok);
    emitted = stop;
  }
  if (emitted < text.size()) on_text(text.substr(emitted));
}

}  // namespace fs::tok
