// StreamDecoder: pieces are whole UTF-8, and pieces + finish() == decode(all ids), on all three tokenizers, for the
// corpus, for random id sequences (random tokens, runs of byte tokens, special tokens) and for known hard cases.
#include <gtest/gtest.h>

#include <random>

#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/utf8.h"
#include "tokenizer_fixtures.h"

namespace fs::test {
namespace {

// Streams `ids`, checks every piece is valid UTF-8, returns the pieces (finish() last).
std::vector<std::string> stream(const Tokenizer& tok, const std::vector<int32_t>& ids, bool skip_special) {
  StreamDecoder dec(tok, skip_special);
  std::vector<std::string> pieces;
  for (int32_t id : ids) pieces.push_back(dec.push(id));
  pieces.push_back(dec.finish());
  for (const std::string& p : pieces) {
    EXPECT_EQ(tok::utf8_first_invalid(p), std::string::npos) << "piece splits a UTF-8 sequence";
  }
  return pieces;
}

std::string join(const std::vector<std::string>& pieces) {
  std::string s;
  for (const std::string& p : pieces) s += p;
  return s;
}

class TokenizerStream : public ::testing::TestWithParam<std::string> {};

TEST_P(TokenizerStream, CorpusStreamsToTheFullDecode) {
  const Tokenizer& tok = real_tokenizer(GetParam());
  for (const std::string& text : read_corpus()) {
    const auto ids = tok.encode(text, true);
    for (bool skip : {false, true}) {
      EXPECT_EQ(join(stream(tok, ids, skip)), tok.decode(ids, skip)) << GetParam() << " " << text;
    }
  }
}

TEST_P(TokenizerStream, RandomIdsStreamToTheFullDecode) {
  const Tokenizer& tok = real_tokenizer(GetParam());
  const auto& impl = tok.impl();
  std::vector<int32_t> byte_ids;  // <0xNN> tokens and single-byte byte-level tokens: broken UTF-8 on purpose
  for (int b = 0; b < 256; ++b) {
    if (impl.model.byte_token[b] >= 0) byte_ids.push_back(impl.model.byte_token[b]);
    if (impl.model.byte_symbol[b] >= 0) byte_ids.push_back(impl.model.byte_symbol[b]);
  }
  std::vector<int32_t> special_ids;
  for (const auto& a : impl.added) special_ids.push_back(a.id);
  std::mt19937 rng(1234);
  for (int round = 0; round < 300; ++round) {
    std::vector<int32_t> ids;
    const int n = 1 + int(rng() % 30);
    for (int k = 0; k < n; ++k) {
      const uint32_t kind = rng() % 10;
      if (kind < 4) {
        ids.push_back(byte_ids[rng() % byte_ids.size()]);
      } else if (kind == 4) {
        ids.push_back(special_ids[rng() % special_ids.size()]);
      } else if (kind == 5) {
        ids.push_back(int32_t(rng() % 40));  // short tokens: punctuation, digits, leading spaces
      } else {
        ids.push_back(int32_t(rng() % uint32_t(tok.vocab_size())));
      }
    }
    for (bool skip : {false, true}) {
      EXPECT_EQ(join(stream(tok, ids, skip)), tok.decode(ids, skip)) << GetParam() << " " << ids_to_string(ids);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Real, TokenizerStream, ::testing::Values("qwen3", "llama3", "llama2"));

TEST(TokenizerStreamKnown, ByteFallbackWaitsForTheEndOfTheByteRun) {
  // 𝕳 is four <0xNN> tokens in Llama 2; a following byte token could still turn the run into U+FFFDs, so the
  // character comes out only with the next ordinary token.
  const Tokenizer& tok = real_tokenizer("llama2");
  const auto ids = tok.encode("\xF0\x9D\x95\xB3 x", false);  // ▁ <0xF0> <0x9D> <0x95> <0xB3> ▁x
  ASSERT_EQ(ids.size(), 6u);
  const auto pieces = stream(tok, ids, true);
  EXPECT_EQ(pieces, (std::vector<std::string>{"", "", "", "", "", "\xF0\x9D\x95\xB3 x", ""}));
}

TEST(TokenizerStreamKnown, ByteLevelEmojiComesOutWhole) {
  for (const char* name : {"qwen3", "llama3"}) {
    const Tokenizer& tok = real_tokenizer(name);
    const std::string family = "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7";  // 👨‍👩‍👧
    const auto ids = tok.encode("Hi " + family + "!", false);
    const auto pieces = stream(tok, ids, true);
    EXPECT_EQ(join(pieces), "Hi " + family + "!");
    EXPECT_EQ(pieces.front(), "Hi");  // plain text is not held back
  }
}

TEST(TokenizerStreamKnown, LeadingSpaceStripOnlyAtTheStart) {
  const Tokenizer& tok = real_tokenizer("llama2");
  StreamDecoder dec(tok);
  EXPECT_EQ(dec.push(1), "");        // <s>, skipped
  EXPECT_EQ(dec.push(22557), "Hello");  // ▁Hello: the first space is stripped
  EXPECT_EQ(dec.push(1526), " world");  // ▁world keeps its space
  EXPECT_EQ(dec.finish(), "");
  // After finish() the decoder starts a new sequence.
  EXPECT_EQ(dec.push(22557), "Hello");
}

TEST(TokenizerStreamKnown, AContinuationKeepsItsLeadingSpace) {
  const Tokenizer& tok = real_tokenizer("llama2");
  StreamDecoder dec(tok, true, /*continuation=*/true);
  EXPECT_EQ(dec.push(22557), " Hello");  // after a prompt, ▁Hello is not the start of the text
  EXPECT_EQ(dec.push(1526), " world");
  EXPECT_EQ(dec.finish(), "");
  EXPECT_EQ(dec.push(22557), " Hello");  // and it stays a continuation after finish()
}

// What `fs run` and `fs serve` print after a prompt: the pieces of a continuation are what decoding the whole text
// adds to decoding the prompt alone, whatever the tokenizer and wherever the prompt's text ends.
TEST_P(TokenizerStream, ContinuationAddsToThePromptsDecode) {
  const Tokenizer& tok = real_tokenizer(GetParam());
  int checked = 0;
  for (const std::string& text : read_corpus()) {
    const auto ids = tok.encode(text, true);
    for (size_t cut = 1; cut < ids.size(); cut += 1 + ids.size() / 7) {
      const std::vector<int32_t> head(ids.begin(), ids.begin() + long(cut)), tail(ids.begin() + long(cut), ids.end());
      const std::string whole = tok.decode(ids, true), prompt = tok.decode(head, true);
      // A prompt of special tokens alone (<s>) has no text to continue; a cut inside a character has no clean prefix.
      if (prompt.empty() || whole.compare(0, prompt.size(), prompt) != 0) continue;
      StreamDecoder dec(tok, true, /*continuation=*/true);
      std::string got;
      for (int32_t id : tail) got += dec.push(id);
      got += dec.finish();
      EXPECT_EQ(got, whole.substr(prompt.size())) << GetParam() << " cut " << cut << ": " << text;
      ++checked;
    }
  }
  EXPECT_GT(checked, 50);
}

TEST(TokenizerStreamKnown, UnfinishedSequenceIsFlushedLossily) {
  const Tokenizer& tok = real_tokenizer("qwen3");
  StreamDecoder dec(tok);
  EXPECT_EQ(dec.push(*tok.token_to_id("\xC3\xB0")), "");  // byte F0: the start of a 4-byte character
  EXPECT_EQ(dec.finish(), "\xEF\xBF\xBD");
}

}  // namespace
}  // namespace fs::test
