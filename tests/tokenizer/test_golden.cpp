// Exactness against Hugging Face `tokenizers`: tests/golden/tokenizer/<name>.jsonl holds, for every corpus line,
// HF's ids with and without special tokens and its decodes; <name>_decode.jsonl holds HF's decodes of odd id
// sequences. Made by tools/make_tokenizer_goldens.py on a machine with `tokenizers`; skipped while absent.
// Also here: decode(encode(s)) gives s back wherever the tokenizer allows it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "test_util.h"
#include "tokenizer/unicode_normalize.h"
#include "tokenizer_fixtures.h"

namespace fs::test {
namespace {

using nlohmann::json;

// Records of a golden file (the header line, which has "tokenizers_version", is returned separately).
bool read_golden(const std::string& file, json& header, std::vector<json>& records) {
  const std::string path = source_path("tests/golden/tokenizer/" + file);
  if (!std::filesystem::exists(path)) return false;
  std::ifstream in(path, std::ios::binary);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    json j = json::parse(line);
    if (j.contains("tokenizers_version")) {
      header = j;
    } else {
      records.push_back(std::move(j));
    }
  }
  return true;
}

class TokenizerGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(TokenizerGolden, EncodeAndDecodeMatchHuggingFace) {
  const std::string name = GetParam();
  json header;
  std::vector<json> records;
  if (!read_golden(name + ".jsonl", header, records)) {
    GTEST_SKIP() << "no goldens yet: run tools/make_tokenizer_goldens.py where `tokenizers` is installed";
  }
  const std::vector<std::string> corpus = read_corpus();
  ASSERT_EQ(records.size(), corpus.size()) << "goldens are stale: rerun tools/make_tokenizer_goldens.py";
  const Tokenizer& tok = real_tokenizer(name);
  int failures = 0;
  for (size_t k = 0; k < records.size() && failures < 20; ++k) {
    const json& r = records[k];
    const std::string text = r["text"].get<std::string>();
    ASSERT_EQ(text, corpus[k]) << "goldens are stale (line " << k + 1 << "): rerun tools/make_tokenizer_goldens.py";
    const auto ids = r["ids"].get<std::vector<int32_t>>();
    const auto ids_special = r["ids_special"].get<std::vector<int32_t>>();
    const bool ok = tok.encode(text, false) == ids && tok.encode(text, true) == ids_special &&
                    tok.decode(ids_special, false) == r["decoded"].get<std::string>() &&
                    tok.decode(ids_special, true) == r["decoded_skip"].get<std::string>();
    EXPECT_TRUE(ok) << name << " corpus line " << k + 1 << ": " << json(text).dump() << "\n  ours: "
                    << ids_to_string(tok.encode(text, false)) << "\n  HF:   " << ids_to_string(ids)
                    << "\n  ours special: " << ids_to_string(tok.encode(text, true))
                    << "\n  HF special:   " << ids_to_string(ids_special)
                    << "\n  ours decoded: " << json(tok.decode(ids_special, false)).dump()
                    << "\n  HF decoded:   " << r["decoded"].dump()
                    << "\n  ours decoded (skip special): " << json(tok.decode(ids_special, true)).dump()
                    << "\n  HF decoded (skip special):   " << r["decoded_skip"].dump();
    failures += !ok;
  }
  RecordProperty("tokenizers_version", header.value("tokenizers_version", "?"));
}

TEST_P(TokenizerGolden, DecodeOfArbitraryIdsMatchesHuggingFace) {
  const std::string name = GetParam();
  json header;
  std::vector<json> records;
  if (!read_golden(name + "_decode.jsonl", header, records)) {
    GTEST_SKIP() << "no goldens yet: run tools/make_tokenizer_goldens.py where `tokenizers` is installed";
  }
  const Tokenizer& tok = real_tokenizer(name);
  for (const json& r : records) {
    const auto ids = r["ids"].get<std::vector<int32_t>>();
    const bool skip = r["skip"].get<bool>();
    EXPECT_EQ(json(tok.decode(ids, skip)).dump(), r["text"].dump()) << name << " ids " << ids_to_string(ids);
  }
}

INSTANTIATE_TEST_SUITE_P(Real, TokenizerGolden, ::testing::Values("qwen3", "llama3", "llama2"));

// decode(encode(s)) == s: byte-level BPE loses nothing (Qwen3 returns the NFC form of s); the SentencePiece-style
// decoder gives s back unless s holds added tokens (the "▁" prepended to each stretch after one reappears as a
// space) or a literal "▁" (it decodes to a space).
TEST(TokenizerRoundTrip, DecodeOfEncodeGivesTheTextBack) {
  for (const std::string& s : read_corpus()) {
    std::string nfc;
    if (!tok::unicode_normalize(s, tok::NormalForm::NFC, nfc)) nfc = s;
    EXPECT_EQ(real_tokenizer("qwen3").decode(real_tokenizer("qwen3").encode(s, true), false), nfc) << s;
    EXPECT_EQ(real_tokenizer("llama3").decode(real_tokenizer("llama3").encode(s, true), false), s) << s;
    const bool sentencepiece_safe = s.find("<s>") == std::string::npos && s.find("</s>") == std::string::npos &&
                                    s.find("<unk>") == std::string::npos && s.find("\xE2\x96\x81") == std::string::npos;
    if (sentencepiece_safe) {
      EXPECT_EQ(real_tokenizer("llama2").decode(real_tokenizer("llama2").encode(s, true), true), s) << s;
    }
  }
}

TEST(TokenizerRoundTrip, LongSentencePieceLine) {
  // No pre-tokenizer: a whole line is one BPE word, merged with the heap (more than 64 symbols).
  std::string s;
  for (int k = 0; k < 300; ++k) s += "word" + std::to_string(k) + (k % 7 ? " " : ", ");
  const Tokenizer& tok = real_tokenizer("llama2");
  EXPECT_EQ(tok.decode(tok.encode(s, false), false), s);
}

}  // namespace
}  // namespace fs::test
