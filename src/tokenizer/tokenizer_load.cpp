// Tokenizer::load: reads tokenizer.json into Tokenizer::Impl.
//
// The file is mostly model.vocab and model.merges (Qwen3: 151k tokens, 151k merges, 11 MB). Those two are read by
// JsonScanner straight into the hash tables; every other value (added_tokens, normalizer, pre_tokenizer,
// post_processor, decoder and the model's small fields) is handed to nlohmann::json as its raw slice of text.
// Hugging Face's semantics kept here: a merge is "left right" (one space) or ["left", "right"]; its rank is its
// index; left, right and left+right must all be tokens. Added tokens keep the ids the file gives them.
#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>

#include "tokenizer/json_scan.h"
#include "tokenizer/tokenizer_impl.h"
#include "util/error.h"

namespace fs {
namespace {

using tok::Json;

std::string read_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw Error(path + ": cannot open (" + std::strerror(errno) + ")");
  std::string data;
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec) data.resize(size);  // one read of the whole file; the loop below only runs for pipes and the like
  size_t got = ec ? 0 : std::fread(data.data(), 1, data.size(), f);
  data.resize(got);
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) data.append(buf, n);
  const bool failed = std::ferror(f);
  std::fclose(f);
  if (failed) throw Error(path + ": read error");
  return data;
}

Json parse_slice(std::string_view raw, const std::string& where) {
  try {
    return Json::parse(raw);
  } catch (const Json::exception& e) {
    throw Error(where + ": malformed JSON: " + e.what());
  }
}

// Views of strings read by the scanner: into the file text, or into `escaped` for strings that had escapes.
class StringStore {
 public:
  std::string_view keep(std::string_view s, const std::string& file_text) {
    if (s.data() >= file_text.data() && s.data() + s.size() <= file_text.data() + file_text.size()) return s;
    escaped_.emplace_back(s);
    return escaped_.back();
  }

 private:
  std::deque<std::string> escaped_;
};

// Ids index arrays, so a stray huge id in a broken file must not become a huge allocation. Real vocabularies
// have well under a million entries.
constexpr int32_t kMaxId = (1 << 24) - 1;

// Bulk hash-table work, prefetching the slot of the entry kAhead places further on: the tables are megabytes
// and each access is otherwise a cache miss.
constexpr size_t kAhead = 12;

void insert_vocab(tok::TokenTable& vocab, const std::vector<std::pair<std::string_view, int32_t>>& entries,
                  const std::string& where) {
  size_t bytes = 0;
  for (const auto& e : entries) bytes += e.first.size();
  vocab.reserve(entries.size(), bytes);
  std::vector<uint64_t> hashes(entries.size());
  for (size_t k = 0; k < entries.size(); ++k) hashes[k] = tok::hash_bytes(entries[k].first);
  for (size_t k = 0; k < entries.size(); ++k) {
    if (k + kAhead < entries.size()) vocab.prefetch(hashes[k + kAhead]);
    const auto& [token, id] = entries[k];
    if (id > kMaxId) throw Error(where + ".vocab: id " + std::to_string(id) + " is too large");
    if (vocab.has_id(id)) {
      throw Error(where + ".vocab: id " + std::to_string(id) + " is given to two tokens, \"" +
                  std::string(vocab.get(id)) + "\" and \"" + std::string(token) + "\"");
    }
    if (!vocab.insert(token, id, hashes[k])) {
      throw Error(where + ".vocab: token \"" + std::string(token) + "\" appears twice");
    }
  }
}

// Merge k: ids of its two parts and of their concatenation. The concatenation is looked up last: Hugging Face
// vocabularies number merged tokens in merge order, so the id is almost always the previous merge's or the next
// one, checked by comparing strings; the hash table is the fallback.
void resolve_merges(tok::BpeModel& model, const std::vector<std::pair<std::string_view, std::string_view>>& merges,
                    const std::string& where) {
  const tok::TokenTable& vocab = model.vocab;
  const size_t n = merges.size();
  std::vector<uint64_t> hashes(2 * n);
  for (size_t k = 0; k < n; ++k) {
    hashes[2 * k] = tok::hash_bytes(merges[k].first);
    hashes[2 * k + 1] = tok::hash_bytes(merges[k].second);
  }
  std::vector<std::array<int32_t, 3>> ids(n);  // left, right, merged
  std::string concat;
  int32_t previous = -2;
  for (size_t k = 0; k < n; ++k) {
    if (k + kAhead < n) {
      vocab.prefetch(hashes[2 * (k + kAhead)]);
      vocab.prefetch(hashes[2 * (k + kAhead) + 1]);
    }
    auto missing = [&](std::string_view token) {
      return Error(where + ": merges[" + std::to_string(k) + "]: \"" + std::string(token) +
                   "\" is not in the vocabulary");
    };
    const auto& [left, right] = merges[k];
    const int32_t l = vocab.find(left, hashes[2 * k]);
    if (l < 0) throw missing(left);
    const int32_t r = vocab.find(right, hashes[2 * k + 1]);
    if (r < 0) throw missing(right);
    concat.assign(left);
    concat += right;
    int32_t merged = -1;
    for (const int32_t guess : {previous + 1, previous}) {
      if (vocab.has_id(guess) && vocab.get(guess) == concat) {
        merged = guess;
        break;
      }
    }
    if (merged < 0) merged = vocab.find(concat);
    if (merged < 0) throw missing(concat);
    ids[k] = {l, r, merged};
    previous = merged;
  }
  model.merges.reserve(n);
  for (size_t k = 0; k < n; ++k) {
    if (k + kAhead < n) model.merges.prefetch(ids[k + kAhead][0], ids[k + kAhead][1]);
    model.merges.insert(ids[k][0], ids[k][1], {int32_t(k), ids[k][2]});
  }
}

// Reads model.vocab and model.merges with the scanner, and the model's other members as JSON values.
void read_model(tok::JsonScanner& js, const std::string& text, tok::BpeModel& model,
                std::map<std::string, Json>& fields, const std::string& path) {
  const std::string where = path + ": model";
  StringStore store;
  std::vector<std::pair<std::string_view, int32_t>> vocab;
  std::vector<std::pair<std::string_view, std::string_view>> merges;
  bool have_vocab = false, have_merges = false;
  std::string key_buf, buf;
  std::string_view key;
  bool first = true;
  js.expect('{');
  while (js.next_member(first, key_buf, key)) {
    if (key == "vocab") {
      vocab.reserve(text.size() / 64);
      bool f = true;
      std::string_view token;
      js.expect('{');
      while (js.next_member(f, buf, token)) {
        const std::string_view kept = store.keep(token, text);
        vocab.emplace_back(kept, js.int32());
      }
      have_vocab = true;
    } else if (key == "merges") {
      merges.reserve(text.size() / 32);
      bool f = true;
      js.expect('[');
      while (js.next_element(f)) {
        if (js.peek() == '"') {
          const std::string_view line = store.keep(js.string(buf), text);
          const size_t space = line.find(' ');
          if (space == std::string_view::npos || line.find(' ', space + 1) != std::string_view::npos) {
            js.fail("merges[" + std::to_string(merges.size()) + "] must be two tokens separated by one space");
          }
          merges.emplace_back(line.substr(0, space), line.substr(space + 1));
        } else {
          bool g = true;
          js.expect('[');
          std::string_view parts[2];
          int count = 0;
          while (js.next_element(g)) {
            if (count == 2) js.fail("a merge must be a pair of tokens");
            parts[count] = store.keep(js.string(buf), text);
            ++count;
          }
          if (count != 2) js.fail("a merge must be a pair of tokens");
          merges.emplace_back(parts[0], parts[1]);
        }
      }
      have_merges = true;
    } else {
      fields[std::string(key)] = parse_slice(js.raw_value(), where + "." + std::string(key));
    }
  }
  if (!have_vocab) throw Error(where + ": missing field \"vocab\"");
  if (!have_merges) throw Error(where + ": missing field \"merges\"");
  insert_vocab(model.vocab, vocab, where);
  resolve_merges(model, merges, where);
}

// The model's small fields: only BPE, deterministic, without subword prefixes/suffixes.
void configure_model(tok::BpeModel& model, const std::map<std::string, Json>& fields, const std::string& path) {
  const std::string where = path + ": model";
  auto get = [&](const char* name) -> const Json* {
    const auto it = fields.find(name);
    return it == fields.end() || it->second.is_null() ? nullptr : &it->second;
  };
  if (const Json* type = get("type")) {
    if (!type->is_string()) throw Error(where + ": field \"type\" must be a string");
    if (type->get<std::string>() != "BPE") tok::fail_unsupported(where, type->get<std::string>());
  }
  if (const Json* dropout = get("dropout")) {
    if (!dropout->is_number() || dropout->get<double>() != 0.0) {
      throw Error(where + ": dropout is not supported (it makes encoding random)");
    }
  }
  for (const char* name : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (const Json* v = get(name)) {
      if (!v->is_string() || !v->get<std::string>().empty()) {
        throw Error(where + ": a non-empty " + name + " is not supported");
      }
    }
  }
  auto flag = [&](const char* name) {
    const Json* v = get(name);
    if (v && !v->is_boolean()) throw Error(where + ": field \"" + name + "\" must be true or false");
    return v && v->get<bool>();
  };
  model.fuse_unk = flag("fuse_unk");
  model.byte_fallback = flag("byte_fallback");
  model.ignore_merges = flag("ignore_merges");
  if (const Json* unk = get("unk_token")) {
    if (!unk->is_string()) throw Error(where + ": field \"unk_token\" must be a string or null");
    model.unk_token = unk->get<std::string>();
    model.unk_id = model.vocab.find(model.unk_token);
  }
  model.finish_setup();
}

void read_added_tokens(Tokenizer::Impl& t, const Json& list, const std::string& path) {
  const std::string where = path + ": added_tokens";
  if (!list.is_array()) throw Error(where + ": must be an array");
  for (const Json& item : list) {
    tok::AddedToken a;
    const Json& id = tok::field(item, "id", where);
    if (!id.is_number_unsigned() || id.get<uint64_t>() > uint64_t(kMaxId)) {
      throw Error(where + ": \"id\" must be an integer from 0 to " + std::to_string(kMaxId));
    }
    a.id = id.get<int32_t>();
    a.content = tok::string_field(item, "content", where);
    if (a.content.empty()) throw Error(where + ": token " + std::to_string(a.id) + " has empty content");
    a.special = tok::bool_field(item, "special", false, where);
    a.lstrip = tok::bool_field(item, "lstrip", false, where);
    a.rstrip = tok::bool_field(item, "rstrip", false, where);
    a.single_word = tok::bool_field(item, "single_word", false, where);
    a.normalized = tok::bool_field(item, "normalized", true, where);
    const int32_t in_vocab = t.model.vocab.find(a.content);
    if (in_vocab >= 0 && in_vocab != a.id) {
      throw Error(where + ": \"" + a.content + "\" has id " + std::to_string(a.id) + " but the vocabulary gives it " +
                  std::to_string(in_vocab));
    }
    if (const auto it = t.added_by_id.find(a.id); it != t.added_by_id.end()) {
      if (t.added[it->second].content != a.content) {
        throw Error(where + ": id " + std::to_string(a.id) + " is given to two tokens");
      }
      continue;
    }
    if (t.model.vocab.has_id(a.id) && t.model.vocab.get(a.id) != a.content) {
      throw Error(where + ": id " + std::to_string(a.id) + " of \"" + a.content + "\" is the vocabulary's \"" +
                  std::string(t.model.vocab.get(a.id)) + "\"");
    }
    t.added_by_id[a.id] = t.added.size();
    t.added_by_content.emplace(a.content, a.id);
    t.added.push_back(std::move(a));
  }
}

void build_matchers(Tokenizer::Impl& t) {
  std::vector<const tok::AddedToken*> raw, normalized;
  std::vector<std::string> raw_patterns, normalized_patterns;
  for (const tok::AddedToken& a : t.added) {
    if (a.normalized) {
      std::string p = a.content;
      if (t.normalizer) t.normalizer->normalize(p);
      normalized.push_back(&a);
      normalized_patterns.push_back(std::move(p));
    } else {
      raw.push_back(&a);
      raw_patterns.push_back(a.content);
    }
  }
  t.raw_matcher.build(raw, raw_patterns);
  t.normalized_matcher.build(normalized, normalized_patterns);
}

}  // namespace

Tokenizer Tokenizer::load(const std::string& dir) {
  if (std::filesystem::is_regular_file(dir)) return load_file(dir);
  if (!std::filesystem::is_directory(dir)) throw Error(dir + ": no such model folder");
  return load_file((std::filesystem::path(dir) / "tokenizer.json").string());
}

Tokenizer Tokenizer::load_file(const std::string& path) {
  auto t = std::make_shared<Impl>();
  t->path = path;
  const std::string text = read_file(path);

  tok::JsonScanner js(text, path);
  std::map<std::string, Json> top, model_fields;
  bool have_model = false;
  std::string key_buf;
  std::string_view key;
  bool first = true;
  js.expect('{');
  while (js.next_member(first, key_buf, key)) {
    if (key == "model") {
      read_model(js, text, t->model, model_fields, path);
      have_model = true;
    } else {
      const std::string name(key);
      top[name] = parse_slice(js.raw_value(), path + ": " + name);
    }
  }
  if (!js.at_end()) js.fail("unexpected text after the top-level object");
  if (!have_model) throw Error(path + ": missing field \"model\"");
  configure_model(t->model, model_fields, path);

  auto component = [&](const char* name) -> const Json* {
    const auto it = top.find(name);
    return it == top.end() || it->second.is_null() ? nullptr : &it->second;
  };
  if (const Json* j = component("normalizer")) t->normalizer = tok::make_normalizer(*j, path + ": normalizer");
  if (const Json* j = component("pre_tokenizer")) {
    t->pre_tokenizer = tok::make_pre_tokenizer(*j, path + ": pre_tokenizer");
    if (t->model.has_all_byte_symbols()) t->pieces_are_raw_bytes = t->pre_tokenizer->defer_byte_mapping();
  }
  if (const Json* j = component("post_processor")) {
    t->post_processor = tok::make_post_processor(*j, path + ": post_processor");
  }
  const Json* dec = component("decoder");
  t->decoder = dec ? tok::make_decoder(*dec, path + ": decoder") : tok::make_space_join_decoder();
  if (const Json* j = component("added_tokens")) read_added_tokens(*t, *j, path);
  build_matchers(*t);

  t->vocab_size = int32_t(t->model.vocab.id_limit());
  for (const tok::AddedToken& a : t->added) t->vocab_size = std::max(t->vocab_size, a.id + 1);
  return Tokenizer(std::move(t));
}

}  // namespace fs
