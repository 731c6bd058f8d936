// Bad input gives a clear fs::Error: missing files, malformed JSON, unsupported components, broken references in
// the model, invalid UTF-8 text, ids without a token.
#include <gtest/gtest.h>

#include <filesystem>

#include "tokenizer_fixtures.h"
#include "util/error.h"

namespace fs::test {
namespace {

// Loads `json` and returns the error message ("" when it loads).
std::string load_error(const std::string& json) {
  try {
    Tokenizer::load(write_tokenizer_dir(json));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_CONTAINS(text, part) EXPECT_NE(std::string(text).find(part), std::string::npos) << (text)

TEST(TokenizerErrors, TheTinyTokenizerLoadsAndWorks) {
  const Tokenizer tok = Tokenizer::load(write_tokenizer_dir(tiny_tokenizer_json()));
  const auto ids = tok.encode("hello world<|end|>", false);
  EXPECT_EQ(tok.decode(ids, false), "hello world<|end|>");
  EXPECT_EQ(tok.id_to_token(ids[0]), "hello");
  EXPECT_EQ(tok.decode(ids, true), "hello world");
}

TEST(TokenizerErrors, MissingFiles) {
  EXPECT_THROW(Tokenizer::load("/nonexistent/model"), Error);
  const auto empty = std::filesystem::temp_directory_path() / "fs_tok_test_empty_dir";
  std::filesystem::create_directories(empty);
  try {
    Tokenizer::load(empty.string());
    FAIL() << "loaded a folder without tokenizer.json";
  } catch (const Error& e) {
    EXPECT_CONTAINS(e.what(), "tokenizer.json");
    EXPECT_CONTAINS(e.what(), "cannot open");
  }
}

TEST(TokenizerErrors, MalformedJson) {
  const std::string good = tiny_tokenizer_json();
  EXPECT_CONTAINS(load_error(good.substr(0, good.size() / 2)), "malformed JSON");
  EXPECT_CONTAINS(load_error(good.substr(0, 40)), "malformed JSON");
  EXPECT_CONTAINS(load_error("{\"model\": {\"vocab\": {\"a\": 0,}, \"merges\": []}}"), "malformed JSON");
  EXPECT_CONTAINS(load_error("{\"model\": {\"vocab\": {\"a\": -1}, \"merges\": []}}"), "integer id");
  EXPECT_CONTAINS(load_error("{\"model\": {\"vocab\": {\"\\ud800\": 0}, \"merges\": []}}"), "surrogate");
  EXPECT_CONTAINS(load_error("[1, 2]"), "malformed JSON");
  EXPECT_CONTAINS(load_error("{\"version\": \"1.0\"}"), "missing field \"model\"");
  EXPECT_CONTAINS(load_error(good + " x"), "unexpected text");
  EXPECT_CONTAINS(load_error("{\"decoder\": {\"type\": \"ByteLevel\",}, " + good.substr(1)), "decoder");
}

TEST(TokenizerErrors, UnsupportedComponentsAreNamed) {
  const std::string whitespace = load_error(tiny_tokenizer_json("null", R"({"type": "Whitespace"})"));
  EXPECT_CONTAINS(whitespace, "tokenizer.json: pre_tokenizer type \"Whitespace\" is not supported");
  EXPECT_CONTAINS(load_error(tiny_tokenizer_json(R"({"type": "Precompiled", "precompiled_charsmap": ""})")),
                  "normalizer type \"Precompiled\" is not supported");
  EXPECT_CONTAINS(load_error(tiny_tokenizer_json("null", "null", R"({"type": "WordPiece", "prefix": "##"})")),
                  "decoder type \"WordPiece\" is not supported");
  EXPECT_CONTAINS(load_error(tiny_tokenizer_json("null", "null", "null", R"({"type": "Fancy"})")),
                  "post_processor type \"Fancy\" is not supported");
  std::string unigram = tiny_tokenizer_json();
  unigram.replace(unigram.find("\"type\": \"BPE\""), 13, "\"type\": \"Unigram\"");
  EXPECT_CONTAINS(load_error(unigram), "model type \"Unigram\" is not supported");
  std::string dropout = tiny_tokenizer_json();
  dropout.replace(dropout.find("\"dropout\": null"), 15, "\"dropout\": 0.1");
  EXPECT_CONTAINS(load_error(dropout), "dropout is not supported");
  EXPECT_CONTAINS(load_error(tiny_tokenizer_json("null", R"({"type": "Split", "pattern": {"Regex": "(unclosed"},
      "behavior": "Isolated", "invert": false})")), "does not compile");
  EXPECT_CONTAINS(load_error(tiny_tokenizer_json("null", R"({"type": "Split", "pattern": {"Regex": "a"},
      "behavior": "Sideways", "invert": false})")), "unknown split behavior");
  EXPECT_CONTAINS(load_error(tiny_tokenizer_json("null", R"({"type": "Split", "behavior": "Isolated"})")),
                  "missing field \"pattern\"");
}

TEST(TokenizerErrors, BrokenModelReferences) {
  std::string bad_merge = tiny_tokenizer_json();
  bad_merge.replace(bad_merge.find("\"h e\""), 5, "\"h \\u00e9\\u00e9\"");
  EXPECT_CONTAINS(load_error(bad_merge), "is not in the vocabulary");
  std::string two_spaces = tiny_tokenizer_json();
  two_spaces.replace(two_spaces.find("\"h e\""), 5, "\"h e x\"");
  EXPECT_CONTAINS(load_error(two_spaces), "separated by one space");
  EXPECT_CONTAINS(load_error("{\"model\": {\"vocab\": {\"a\": 0, \"b\": 0}, \"merges\": []}}"), "given to two tokens");
  EXPECT_CONTAINS(load_error("{\"model\": {\"vocab\": {\"a\": 0}}}"), "missing field \"merges\"");
  EXPECT_CONTAINS(load_error("{\"model\": {\"vocab\": {\"a\": 2000000000}, \"merges\": []}}"), "too large");
  EXPECT_CONTAINS(load_error("{\"added_tokens\": [{\"id\": 0, \"content\": \"b\"}], "
                             "\"model\": {\"vocab\": {\"a\": 0}, \"merges\": []}}"),
                  "added_tokens");
}

TEST(TokenizerErrors, InvalidUtf8TextIsRejected) {
  const Tokenizer& tok = real_tokenizer("qwen3");
  for (const std::string& bad : {std::string("abc\xFF"), std::string("\xC3"), std::string("a\xED\xA0\x80"),
                                std::string("\xF0\x9F\x98")}) {
    try {
      tok.encode(bad, false);
      FAIL() << "accepted invalid UTF-8";
    } catch (const Error& e) {
      EXPECT_CONTAINS(e.what(), "not valid UTF-8");
    }
  }
  EXPECT_CONTAINS([&] {
    try {
      tok.encode("ok\xC0\xAF", false);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  }(), "offset 2");
}

}  // namespace
}  // namespace fs::test
