// Added tokens ("<|im_start|>", "<s>", ...) are cut out of the text before anything else runs, so their text is
// never normalized or split by BPE. Matching is leftmost-longest, like Hugging Face's Aho–Corasick automaton:
// scanning left to right, the first position where any added token starts wins, and there the longest token.
// A byte trie does the same here; most bytes cannot start a token and are skipped by a 256-entry table.
//
// Flags honoured: lstrip / rstrip (the token also swallows the whitespace before / after it), single_word
// (only matches when not inside a word), normalized (matched in the normalized text, see Tokenizer::encode).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/function_ref.h"

namespace fs::tok {

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = false;
  bool lstrip = false, rstrip = false, single_word = false, normalized = false;
};

class AddedTokenMatcher {
 public:
  // `patterns[k]` is the text that stands for `tokens[k]` (its content, or its normalized content).
  void build(const std::vector<const AddedToken*>& tokens, const std::vector<std::string>& patterns);
  bool empty() const { return tokens_.empty(); }
  // Cuts `text` into stretches of plain text (on_text, never empty) and added tokens (on_token), in order.
  void split(std::string_view text, FunctionRef<void(std::string_view)> on_text,
             FunctionRef<void(const AddedToken&)> on_token) const;

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int32_t>> children;
    int32_t token = -1;  // index into tokens_ of the token ending here
  };
  std::vector<Node> nodes_;
  std::vector<const AddedToken*> tokens_;
  bool can_start_[256] = {};
};

}  // namespace fs::tok
