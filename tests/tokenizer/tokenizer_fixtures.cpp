// Fixtures for the tokenizer tests, see tokenizer_fixtures.h.
#include "tokenizer_fixtures.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include <nlohmann/json.hpp>
#include <unistd.h>

#include "test_util.h"

namespace fs::test {

const Tokenizer& real_tokenizer(const std::string& name) {
  static std::mutex mutex;
  static std::map<std::string, Tokenizer> loaded;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = loaded.find(name);
  if (it == loaded.end()) {
    it = loaded.emplace(name, Tokenizer::load(source_path("tests/data/tokenizers/" + name))).first;
  }
  return it->second;
}

std::string write_tokenizer_dir(const std::string& json) {
  static std::atomic<int> counter{0};
  const auto dir = std::filesystem::temp_directory_path() /
                   ("fs_tok_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "tokenizer.json", std::ios::binary) << json;
  return dir.string();
}

std::string tiny_tokenizer_json(const std::string& normalizer, const std::string& pre_tokenizer,
                                const std::string& decoder, const std::string& post_processor) {
  // Vocabulary: the 256 byte-level characters (ids 0..255), then a few merges' results.
  nlohmann::json vocab = nlohmann::json::object();
  std::vector<std::string> alphabet(256);
  int extra = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    const char32_t cp = printable ? char32_t(b) : char32_t(256 + extra++);
    std::string s;
    if (cp < 0x80) {
      s += char(cp);
    } else {
      s += char(0xC0 | (cp >> 6));
      s += char(0x80 | (cp & 0x3F));
    }
    alphabet[b] = s;
    vocab[s] = b;
  }
  const std::vector<std::pair<std::string, std::string>> merges = {
      {"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {"\xC4\xA0", "w"}, {"o", "r"}, {"\xC4\xA0w", "or"}};
  int next = 256;
  nlohmann::json merge_list = nlohmann::json::array();
  for (const auto& [a, b] : merges) {
    if (!vocab.contains(a + b)) vocab[a + b] = next++;
    merge_list.push_back(a + " " + b);
  }
  nlohmann::json added = nlohmann::json::array();
  added.push_back({{"id", next}, {"content", "<|end|>"}, {"single_word", false}, {"lstrip", false},
                   {"rstrip", false}, {"normalized", false}, {"special", true}});
  std::ostringstream out;
  out << R"({"version": "1.0", "truncation": null, "padding": null, "added_tokens": )" << added.dump()
      << R"(, "normalizer": )" << normalizer << R"(, "pre_tokenizer": )" << pre_tokenizer
      << R"(, "post_processor": )" << post_processor << R"(, "decoder": )" << decoder
      << R"(, "model": {"type": "BPE", "dropout": null, "unk_token": null, "fuse_unk": false, "byte_fallback": false,
      "vocab": )" << vocab.dump() << R"(, "merges": )" << merge_list.dump() << "}}";
  return out.str();
}

std::vector<std::string> read_corpus() {
  std::ifstream in(source_path("tests/data/tokenizer_corpus.jsonl"), std::ios::binary);
  std::vector<std::string> texts;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) texts.push_back(nlohmann::json::parse(line).get<std::string>());
  }
  return texts;
}

std::string ids_to_string(const std::vector<int32_t>& ids) {
  std::string s = "[";
  for (size_t k = 0; k < ids.size(); ++k) s += (k ? ", " : "") + std::to_string(ids[k]);
  return s + "]";
}

}  // namespace fs::test
