// The two lookup tables behind BPE, both open addressing with linear probing over a power-of-two slot array:
//
//   TokenTable  token string → id, and id → token string. All token bytes live in one arena string; a slot holds
//               an id (or -1), and the probe compares the candidate's bytes. ~150k tokens load in a few ms.
//   MergeTable  (left id, right id) → (rank, merged id), keyed by the 64-bit pair. A merge rank is its line
//               number in "merges": lower merges first.
//
// Why not std::unordered_map: it allocates one node per entry (hundreds of thousands of allocations at load)
// and chases a pointer per lookup; these tables are two flat arrays.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace fs::tok {

// A fast non-cryptographic hash of a byte string (8 bytes at a time, multiply–xorshift mixing).
inline uint64_t hash_bytes(std::string_view s) {
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;
  uint64_t h = s.size() * kMul;
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * kMul;
    h ^= h >> 29;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, s.data() + i, s.size() - i);
  h = (h ^ tail) * kMul;
  h ^= h >> 32;
  return h;
}

inline size_t table_capacity(size_t n) {
  size_t cap = 16;
  while (cap < 2 * n) cap <<= 1;  // load factor ≤ 1/2 keeps probe chains short
  return cap;
}

class TokenTable {
 public:
  void reserve(size_t n, size_t bytes) {
    arena_.reserve(bytes);
    slots_.assign(table_capacity(n), Slot{});
  }
  // Adds `token` with `id`. Returns false if the token is already present (the table is unchanged).
  bool insert(std::string_view token, int32_t id) { return insert(token, id, hash_bytes(token)); }
  bool insert(std::string_view token, int32_t id, uint64_t h) {
    if (2 * (count_ + 1) > slots_.size()) grow();
    size_t i = h & (slots_.size() - 1);
    for (; slots_[i].id >= 0; i = (i + 1) & (slots_.size() - 1)) {
      if (matches(slots_[i], uint32_t(h >> 32), token)) return false;
    }
    if (size_t(id) >= spans_.size()) spans_.resize(size_t(id) + 1, Span{0, kNone});
    spans_[id] = Span{uint32_t(arena_.size()), uint32_t(token.size())};
    slots_[i] = Slot{uint32_t(h >> 32), id, uint32_t(arena_.size()), uint32_t(token.size())};
    arena_.append(token);
    ++count_;
    return true;
  }
  int32_t find(std::string_view token) const { return find(token, hash_bytes(token)); }
  // With the hash precomputed (h = hash_bytes(token)), and a prefetch of its slot: bulk lookups at load issue
  // prefetch(h) some entries ahead, so the memory latency of a random slot overlaps other work.
  void prefetch(uint64_t h) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[h & (slots_.size() - 1)]);
  }
  int32_t find(std::string_view token, uint64_t h) const {
    if (slots_.empty()) return -1;
    for (size_t i = h & (slots_.size() - 1); slots_[i].id >= 0; i = (i + 1) & (slots_.size() - 1)) {
      if (matches(slots_[i], uint32_t(h >> 32), token)) return slots_[i].id;
    }
    return -1;
  }
  bool has_id(int32_t id) const { return id >= 0 && size_t(id) < spans_.size() && spans_[id].len != kNone; }
  std::string_view get(int32_t id) const { return {arena_.data() + spans_[id].off, spans_[id].len}; }
  size_t id_limit() const { return spans_.size(); }  // largest id + 1
  size_t size() const { return count_; }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  struct Span {
    uint32_t off, len;
  };
  // A slot carries the upper hash bits (so a probe rarely touches the arena for a wrong token) and the token's
  // place in the arena (so a hit costs one more memory access, not two).
  struct Slot {
    uint32_t tag = 0;
    int32_t id = -1;  // -1: empty
    uint32_t off = 0, len = 0;
  };
  bool matches(const Slot& s, uint32_t tag, std::string_view token) const {
    return s.tag == tag && s.len == token.size() && std::memcmp(arena_.data() + s.off, token.data(), s.len) == 0;
  }
  void grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(old.empty() ? 16 : old.size() * 2, Slot{});
    for (const Slot& s : old) {
      if (s.id < 0) continue;
      size_t i = hash_bytes({arena_.data() + s.off, s.len}) & (slots_.size() - 1);
      while (slots_[i].id >= 0) i = (i + 1) & (slots_.size() - 1);
      slots_[i] = s;
    }
  }
  std::string arena_;
  std::vector<Span> spans_;
  std::vector<Slot> slots_;
  size_t count_ = 0;
};

class MergeTable {
 public:
  struct Merge {
    int32_t rank;    // -1: no such merge
    int32_t merged;  // id of left+right
  };
  void reserve(size_t n) { slots_.assign(table_capacity(n), Slot{kEmpty, {-1, -1}}); }
  void prefetch(int32_t left, int32_t right) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[slot_of(pack(left, right))]);
  }
  // A pair listed twice keeps its last rank, as Hugging Face's map does.
  void insert(int32_t left, int32_t right, Merge m) {
    if (slots_.empty()) reserve(16);
    const uint64_t key = pack(left, right);
    size_t i = slot_of(key);
    while (slots_[i].key != kEmpty && slots_[i].key != key) i = (i + 1) & (slots_.size() - 1);
    slots_[i] = Slot{key, m};
  }
  Merge find(int32_t left, int32_t right) const {
    if (slots_.empty()) return {-1, -1};
    const uint64_t key = pack(left, right);
    size_t i = slot_of(key);
    while (slots_[i].key != kEmpty) {
      if (slots_[i].key == key) return slots_[i].merge;
      i = (i + 1) & (slots_.size() - 1);
    }
    return {-1, -1};
  }

 private:
  static constexpr uint64_t kEmpty = UINT64_MAX;
  struct Slot {
    uint64_t key;
    Merge merge;
  };
  static uint64_t pack(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }
  size_t slot_of(uint64_t key) const {
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    return (h ^ (h >> 31)) & (slots_.size() - 1);
  }
  std::vector<Slot> slots_;
};

}  // namespace fs::tok
