// Text ⇄ token ids, exactly as Hugging Face `tokenizers` does it for BPE models (Qwen, Llama 3, Llama 2, ...),
// read from the model's tokenizer.json. See docs/tokenization.md.
//
//   Tokenizer tok = Tokenizer::load("models/qwen3");
//   std::vector<int32_t> ids = tok.encode("Hello world", false);   // [9707, 1879]
//   std::string text = tok.decode(ids, true);                        // "Hello world"
//
// Input text must be valid UTF-8 (encode throws fs::Error otherwise: the byte offset of the first bad byte).
// A Tokenizer is immutable after load, cheap to move and copy (shared state), and safe to use from many threads.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fs {

class Tokenizer {
 public:
  // dir: a model folder holding tokenizer.json (tokenizer_config.json is optional and not needed). Throws
  // fs::Error naming the file and the unsupported component or malformed field.
  static Tokenizer load(const std::string& dir);
  // Same, from the path of a tokenizer.json file.
  static Tokenizer load_file(const std::string& tokenizer_json);

  // add_special_tokens runs the post-processor (Llama 2 puts BOS in front); added tokens written in the text
  // ("<|im_start|>") are always recognized, as in Hugging Face.
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens) const;
  // Ids without a token (out of range) are skipped, as in Hugging Face. skip_special_tokens drops the added tokens
  // marked special.
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const;

  int32_t vocab_size() const;  // largest id + 1, added tokens included
  std::optional<int32_t> token_to_id(std::string_view token) const;
  std::string id_to_token(int32_t id) const;  // the raw vocabulary string; throws fs::Error when id has no token
  bool is_special(int32_t id) const;

  struct Impl;
  const Impl& impl() const { return *impl_; }  // internal state (tokenizer_impl.h), for tests and tools

 private:
  friend class StreamDecoder;
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// Streaming detokenization: push ids one at a time, get back only complete, final text (never half a UTF-8
// sequence, never text a later token could change); the concatenation of all pieces and finish() equals
// decode(all ids). Holds a reference to the tokenizer's shared state, so it may outlive the Tokenizer object.
class StreamDecoder {
 public:
  // continuation: the ids continue a text that came before them (a prompt's), so none of them starts the sequence
  // and Llama 2's leading space stays: " Paris" after "The capital of France is", not "Paris". The pieces are then
  // what decode(prompt + ids) adds to decode(prompt).
  explicit StreamDecoder(const Tokenizer& tok, bool skip_special_tokens = true, bool continuation = false);
  std::string push(int32_t id);
  // The text still held back (e.g. an unfinished UTF-8 sequence, decoded lossily); the decoder is then reset.
  std::string finish();

 private:
  std::shared_ptr<const Tokenizer::Impl> impl_;
  bool skip_special_, continuation_;
  bool at_start_;
  std::vector<std::string> window_;  // token strings not yet turned into text
};

}  // namespace fs
