// The pluggable stages of a Hugging Face tokenizer, as tokenizer.json describes them:
//
//   text ─▶ added tokens split out ─▶ Normalizer ─▶ PreTokenizer ─▶ model (BPE) ─▶ PostProcessor ─▶ ids
//   ids ─▶ token strings ─▶ Decoder chain ─▶ text
//
// Each make_* reads one JSON object and throws fs::Error naming `where` (e.g. "x/tokenizer.json: normalizer")
// and the unsupported type or malformed field. Implementations: normalizers.cpp, pre_tokenizers.cpp,
// post_processors.cpp, decoders.cpp.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/function_ref.h"

namespace fs::tok {

using Json = nlohmann::json;

// ---- helpers for reading component objects --------------------------------------------------------------------
// `where` is the file and the component, e.g. "models/x/tokenizer.json: pre_tokenizer".
[[noreturn]] void fail(const std::string& where, const std::string& msg);  // "<where>: <msg>"
[[noreturn]] void fail_unsupported(const std::string& where, const std::string& type);  // "<where> type "T" is not supported"
const Json& field(const Json& j, const char* key, const std::string& where);  // required member
std::string string_field(const Json& j, const char* key, const std::string& where);
bool bool_field(const Json& j, const char* key, bool fallback, const std::string& where);
std::string type_of(const Json& j, const std::string& where);  // the "type" member
// {"String": "..."} or {"Regex": "..."} → (text, is_regex)
std::pair<std::string, bool> pattern_field(const Json& j, const std::string& where);
// A one-character string field (decoders' "content", Metaspace's "replacement").
char32_t char_field(const Json& j, const char* key, const std::string& where);
bool is_white_space(char32_t cp);  // Unicode White_Space, Rust's char::is_whitespace

// ---- normalizers -----------------------------------------------------------------------------------------------
class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(std::string& s) const = 0;
};
std::unique_ptr<Normalizer> make_normalizer(const Json& j, const std::string& where);

// ---- pre-tokenizers --------------------------------------------------------------------------------------------
// A piece is passed on with `first`: whether it starts at offset 0 of the original input (Metaspace's
// prepend_scheme "first" needs it). Only non-empty pieces are passed on.
using PieceSink = FunctionRef<void(std::string_view piece, bool first)>;

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  virtual void split(std::string_view text, bool first, PieceSink sink) const = 0;
  // When ByteLevel is the last step, the BPE model can start from raw bytes (a table lookup per byte) instead of
  // re-reading the byte-level characters: this asks that last step to pass raw bytes on. Returns whether it did.
  virtual bool defer_byte_mapping() { return false; }
};
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const Json& j, const std::string& where);

// ---- post-processors -------------------------------------------------------------------------------------------
class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  virtual void process(std::vector<int32_t>& ids, bool add_special_tokens) const = 0;
};
std::unique_ptr<PostProcessor> make_post_processor(const Json& j, const std::string& where);

// ---- decoders --------------------------------------------------------------------------------------------------
// A decoder step transforms a list of token strings. To stream, text is decoded in parts: the tokens are cut
// into consecutive windows, each decoded on its own. `Part` says where the window sits in the whole sequence;
// `fused` says an earlier step has joined the window into one string, which is then a slice of the single
// string the whole sequence would have become (steps that act on "each token" act on that whole string).
struct Part {
  bool at_start = true;  // the window begins the sequence
  bool at_end = true;    // the window ends the sequence
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void apply(std::vector<std::string>& tokens, const Part& part, bool fused) const = 0;
  // Whether the output of this step is one string (ByteLevel, Fuse).
  virtual bool fuses() const { return false; }
  // Whether cutting the sequence right after `left` (this step's input for the window ending at the cut) leaves
  // this step's output unchanged, whatever tokens follow: output(left ++ right) == output(left) ++ output(right).
  virtual bool cut_is_clean(const std::vector<std::string>& left, const Part& part, bool fused) const = 0;
};
std::unique_ptr<Decoder> make_decoder(const Json& j, const std::string& where);
// The decoder used when tokenizer.json has none: tokens joined by single spaces, as Hugging Face does.
std::unique_ptr<Decoder> make_space_join_decoder();

}  // namespace fs::tok
