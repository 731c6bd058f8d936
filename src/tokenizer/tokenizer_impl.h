// The state of a loaded tokenizer, shared by tokenizer.cpp (encode/decode), tokenizer_load.cpp (reading
// tokenizer.json) and stream_decoder.cpp. Internal: include tokenizer/tokenizer.h instead.
#pragma once
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe.h"
#include "tokenizer/components.h"
#include "tokenizer/tokenizer.h"

namespace fs {

struct Tokenizer::Impl {
  std::string path;  // of tokenizer.json, for messages

  tok::BpeModel model;
  std::vector<tok::AddedToken> added;                 // sorted by id
  std::unordered_map<int32_t, size_t> added_by_id;    // id → index in `added`
  std::unordered_map<std::string, int32_t> added_by_content;
  tok::AddedTokenMatcher raw_matcher;                 // added tokens with normalized: false, on the input
  tok::AddedTokenMatcher normalized_matcher;          // normalized: true, on the normalized text

  std::unique_ptr<tok::Normalizer> normalizer;        // may be null
  std::unique_ptr<tok::PreTokenizer> pre_tokenizer;   // may be null: the whole text is one piece
  bool pieces_are_raw_bytes = false;                  // the last pre-tokenizer step left the byte mapping to BPE
  std::unique_ptr<tok::PostProcessor> post_processor; // may be null
  std::unique_ptr<tok::Decoder> decoder;              // never null (the space join when the file has none)
  int32_t vocab_size = 0;

  // The word cache: used by one encode() at a time (try_lock); a concurrent encode runs without it.
  mutable std::mutex cache_mutex;
  mutable tok::WordCache cache;

  // The string of an id (added token content or vocabulary entry); false when the id has none.
  bool token_of(int32_t id, std::string_view& out) const;
  bool id_is_special(int32_t id) const {
    const auto it = added_by_id.find(id);
    return it != added_by_id.end() && added[it->second].special;
  }
  // Token strings of ids (skipping unknown ids and, if asked, special tokens), ready for the decoder.
  void tokens_for_decoding(const int32_t* ids, size_t n, bool skip_special, std::vector<std::string>& out) const;
};

}  // namespace fs
