// The BPE model: one pre-tokenized piece in, token ids out.
//
//   1. Start from one symbol per character (per byte for byte-level models, whose 256 byte characters are all in
//      the vocabulary). A character missing from the vocabulary becomes its <0xNN> byte tokens (byte_fallback,
//      Llama 2) or the unknown token.
//   2. Repeatedly merge the adjacent pair with the lowest merge rank (its line in "merges"), the leftmost one on
//      ties, until no adjacent pair has a merge.
//
// Short pieces (almost all of them) use a linear scan for the best pair: no heap, no allocation. Long ones (a
// SentencePiece model has no pre-tokenizer, so a whole line is one piece) use a priority queue over a linked list
// of symbols, O(n log n). Both give the same result: the lowest rank first, the leftmost on ties.
// Pieces repeat a lot in real text, so results are memoized in a WordCache.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <cstring>
#include <vector>

#include "tokenizer/hash_tables.h"

namespace fs::tok {

// Memoized BPE results: piece bytes → ids. An open-addressing table of 64-byte entries (one cache line each) that
// hold the piece and its ids inline, so a hit costs one memory access. Pieces up to 23 bytes with up to 7 ids are
// kept (nearly every word of prose); the table fills up to half its slots and is then frozen, as Hugging Face's
// cache stops growing when full.
class WordCache {
 public:
  static constexpr size_t kMaxPieceBytes = 23, kMaxIds = 7;
  // Returns the number of ids copied to `out` (appended), or -1 on a miss.
  int find(std::string_view piece, std::vector<int32_t>& out) const {
    if (entries_.empty() || piece.size() > kMaxPieceBytes) return -1;
    const uint64_t h = hash_of(piece);
    for (size_t i = h & kMask;; i = (i + 1) & kMask) {
      const Entry& e = entries_[i];
      if (e.hash == 0) return -1;
      if (e.hash == h && e.len == piece.size() && std::memcmp(e.key, piece.data(), piece.size()) == 0) {
        out.insert(out.end(), e.ids, e.ids + e.n_ids);
        return e.n_ids;
      }
    }
  }
  void insert(std::string_view piece, const int32_t* ids, size_t n) {
    if (piece.size() > kMaxPieceBytes || n > kMaxIds || count_ >= kCapacity / 2) return;
    if (entries_.empty()) entries_.resize(kCapacity);
    const uint64_t h = hash_of(piece);
    size_t i = h & kMask;
    while (entries_[i].hash != 0) {
      if (entries_[i].hash == h && entries_[i].len == piece.size() &&
          std::memcmp(entries_[i].key, piece.data(), piece.size()) == 0) {
        return;
      }
      i = (i + 1) & kMask;
    }
    Entry& e = entries_[i];
    e.hash = h;
    e.len = uint8_t(piece.size());
    std::memcpy(e.key, piece.data(), piece.size());
    e.n_ids = uint8_t(n);
    std::memcpy(e.ids, ids, n * sizeof(int32_t));
    ++count_;
  }

 private:
  static constexpr size_t kCapacity = 1 << 16, kMask = kCapacity - 1;
  static uint64_t hash_of(std::string_view piece) { return hash_bytes(piece) | 1; }  // 0 marks an empty entry
  struct alignas(64) Entry {
    uint64_t hash = 0;
    uint8_t len = 0, n_ids = 0;
    char key[kMaxPieceBytes];
    int32_t ids[kMaxIds];
  };
  static_assert(sizeof(Entry) == 64);
  std::vector<Entry> entries_;
  size_t count_ = 0;
};

struct BpeModel {
  TokenTable vocab;
  MergeTable merges;
  int32_t unk_id = -1;      // -1: no unknown token (unknown characters are dropped, as in Hugging Face)
  std::string unk_token;    // the configured name, for the error when it is not in the vocabulary
  bool fuse_unk = false;    // consecutive unknown characters become one unknown token
  bool byte_fallback = false;
  bool ignore_merges = false;  // a piece that is itself a token is taken whole (Llama 3)
  int32_t byte_token[256];     // id of "<0xNN>", -1 if absent
  int32_t byte_symbol[256];    // id of the byte-level character of each byte, -1 if absent

  // Call after vocab and flags are set: fills byte_token and byte_symbol.
  void finish_setup();
  // Whether every byte's byte-level character is a token, so pieces can be given as raw bytes.
  bool has_all_byte_symbols() const;

  // Appends the ids of `piece`. raw_bytes: the piece is raw bytes standing for their byte-level characters.
  void tokenize(std::string_view piece, bool raw_bytes, std::vector<int32_t>& out, WordCache* cache) const;

  // The merge loop on symbol ids (exposed for tests: the scan and the heap must agree).
  void merge_scan(std::vector<int32_t>& syms) const;
  void merge_heap(std::vector<int32_t>& syms) const;

 private:
  void initial_symbols(std::string_view piece, bool raw_bytes, std::vector<int32_t>& syms) const;
};

}  // namespace fs::tok
