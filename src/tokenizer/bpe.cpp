// BPE merging, see bpe.h. Hugging Face's reference (models/bpe/word.rs) pops merges from a heap ordered by
// (rank, position) and skips stale entries; a merge is stale when the pair at its position has changed. Here a
// symbol's position never moves (merged symbols are unlinked, not shifted), so the same order falls out.
#include "tokenizer/bpe.h"

#include <algorithm>
#include <queue>

#include "tokenizer/byte_level.h"
#include "util/error.h"

namespace fs::tok {

void BpeModel::finish_setup() {
  const auto& alphabet = byte_level_alphabet();
  static const char* kHex = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) {
    const char name[7] = {'<', '0', 'x', kHex[b >> 4], kHex[b & 15], '>', 0};
    byte_token[b] = vocab.find(std::string_view(name, 6));
    byte_symbol[b] = vocab.find(alphabet.utf8_of_byte[b]);
  }
}

bool BpeModel::has_all_byte_symbols() const {
  return std::all_of(byte_symbol, byte_symbol + 256, [](int32_t id) { return id >= 0; });
}

void BpeModel::initial_symbols(std::string_view piece, bool raw_bytes, std::vector<int32_t>& syms) const {
  syms.clear();
  if (raw_bytes) {
    for (unsigned char b : piece) syms.push_back(byte_symbol[b]);
    return;
  }
  // One symbol per character; an unknown character falls back to its bytes, else to the unknown token.
  int32_t pending_unk = -1;  // an unknown token not yet emitted (so fuse_unk can extend it)
  size_t i = 0;
  while (i < piece.size()) {
    const size_t len = std::min(utf8_len(static_cast<unsigned char>(piece[i])), piece.size() - i);
    const std::string_view ch = piece.substr(i, len);
    i += len;
    const int32_t id = vocab.find(ch);
    if (id >= 0) {
      if (pending_unk >= 0) syms.push_back(pending_unk);
      pending_unk = -1;
      syms.push_back(id);
      continue;
    }
    if (byte_fallback && std::all_of(ch.begin(), ch.end(),
                                      [&](char c) { return byte_token[static_cast<unsigned char>(c)] >= 0; })) {
      // As in Hugging Face, a pending unknown token is not flushed here; it follows these bytes.
      for (char c : ch) syms.push_back(byte_token[static_cast<unsigned char>(c)]);
      continue;
    }
    if (unk_token.empty()) continue;  // no unknown token: the character is dropped
    if (unk_id < 0) throw Error("tokenizer: the unknown token \"" + unk_token + "\" is not in the vocabulary");
    if (pending_unk >= 0 && !fuse_unk) syms.push_back(pending_unk);
    pending_unk = unk_id;
  }
  if (pending_unk >= 0) syms.push_back(pending_unk);
}

void BpeModel::merge_scan(std::vector<int32_t>& syms) const {
  size_t n = syms.size();
  if (n < 2) return;
  // rank[i] / merged[i]: the merge of the pair (syms[i], syms[i+1]).
  int32_t rank[64], merged[64];
  for (size_t i = 0; i + 1 < n; ++i) {
    const MergeTable::Merge m = merges.find(syms[i], syms[i + 1]);
    rank[i] = m.rank < 0 ? INT32_MAX : m.rank;
    merged[i] = m.merged;
  }
  while (n > 1) {
    size_t best = 0;
    for (size_t i = 1; i + 1 < n; ++i) {
      if (rank[i] < rank[best]) best = i;  // strict: the leftmost wins ties
    }
    if (rank[best] == INT32_MAX) break;
    syms[best] = merged[best];
    // Remove symbol best+1 and pair best+1 (shift left); then refresh the pairs touching the new symbol.
    for (size_t i = best + 1; i + 1 < n; ++i) syms[i] = syms[i + 1];
    for (size_t i = best + 1; i + 2 < n; ++i) {
      rank[i] = rank[i + 1];
      merged[i] = merged[i + 1];
    }
    --n;
    auto refresh = [&](size_t i) {
      const MergeTable::Merge m = merges.find(syms[i], syms[i + 1]);
      rank[i] = m.rank < 0 ? INT32_MAX : m.rank;
      merged[i] = m.merged;
    };
    if (best > 0) refresh(best - 1);
    if (best + 1 < n) refresh(best);
  }
  syms.resize(n);
}

void BpeModel::merge_heap(std::vector<int32_t>& syms) const {
  const size_t n = syms.size();
  if (n < 2) return;
  std::vector<int32_t> prev(n), next(n);
  for (size_t i = 0; i < n; ++i) {
    prev[i] = int32_t(i) - 1;
    next[i] = i + 1 < n ? int32_t(i + 1) : -1;
  }
  std::vector<bool> alive(n, true);
  struct Entry {
    int32_t rank, pos;
    bool operator>(const Entry& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> queue;
  for (size_t i = 0; i + 1 < n; ++i) {
    const MergeTable::Merge m = merges.find(syms[i], syms[i + 1]);
    if (m.rank >= 0) queue.push({m.rank, int32_t(i)});
  }
  while (!queue.empty()) {
    const Entry top = queue.top();
    queue.pop();
    const int32_t pos = top.pos;
    if (!alive[pos] || next[pos] < 0) continue;
    const int32_t right = next[pos];
    const MergeTable::Merge m = merges.find(syms[pos], syms[right]);
    if (m.rank != top.rank) continue;  // stale: the pair at pos changed since this entry was queued
    syms[pos] = m.merged;
    alive[right] = false;
    next[pos] = next[right];
    if (next[pos] >= 0) prev[next[pos]] = pos;
    if (prev[pos] >= 0) {
      const MergeTable::Merge l = merges.find(syms[prev[pos]], syms[pos]);
      if (l.rank >= 0) queue.push({l.rank, prev[pos]});
    }
    if (next[pos] >= 0) {
      const MergeTable::Merge r = merges.find(syms[pos], syms[next[pos]]);
      if (r.rank >= 0) queue.push({r.rank, pos});
    }
  }
  size_t out = 0;
  for (int32_t i = 0; i >= 0; i = next[i]) syms[out++] = syms[i];
  syms.resize(out);
}

void BpeModel::tokenize(std::string_view piece, bool raw_bytes, std::vector<int32_t>& out, WordCache* cache) const {
  if (piece.empty()) return;
  if (ignore_merges) {
    std::string spelled;
    if (raw_bytes) byte_level_encode(piece, spelled);
    const int32_t id = vocab.find(raw_bytes ? std::string_view(spelled) : piece);
    if (id >= 0) {
      out.push_back(id);
      return;
    }
  }
  if (cache && cache->find(piece, out) >= 0) return;
  thread_local std::vector<int32_t> syms;
  initial_symbols(piece, raw_bytes, syms);
  if (syms.size() <= 64) {
    merge_scan(syms);
  } else {
    merge_heap(syms);
  }
  out.insert(out.end(), syms.begin(), syms.end());
  if (cache) cache->insert(piece, syms.data(), syms.size());
}

}  // namespace fs::tok
