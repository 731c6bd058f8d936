// Hand-checked expectations on the three real tokenizers. Each expected id list was verified by reading the
// committed vocabularies and merges (e.g. Qwen3's "Hello" is id 9707 and "Ġworld" 1879, "Ġ" standing for the
// space byte), with the pre-tokenizer's pieces worked out by hand from the regex.
#include <gtest/gtest.h>

#include <thread>

#include "tokenizer_fixtures.h"
#include "util/error.h"

namespace fs::test {
namespace {

struct Case {
  const char* tokenizer;
  const char* text;
  bool add_special;
  std::vector<int32_t> ids;
};

const Case kCases[] = {
    // Qwen3: byte-level BPE; the regex isolates "\s+(?!\S)" so a run of spaces leaves its last space to the word.
    {"qwen3", "Hello world", false, {9707, 1879}},                      // Hello | Ġworld
    {"qwen3", "Hello world", true, {9707, 1879}},                       // no BOS: post-processor is ByteLevel
    {"qwen3", "  hello", false, {220, 23811}},                          // Ġ | Ġhello
    {"qwen3", "2024", false, {17, 15, 17, 19}},                         // \p{N}: one digit per piece
    {"qwen3", "I'm", false, {40, 2776}},                                // I | 'm
    {"qwen3", "HE'LL", false, {1799, 6, 4086}},                         // (?i:'ll) keeps "'LL" whole: ' + LL
    {"qwen3", "<|im_start|>user\nHi<|im_end|>", false, {151644, 872, 198, 13048, 151645}},
    {"qwen3", "caf\xC3\xA9", false, {924, 58858}},                      // ca | fÃ© (é is bytes C3 A9)
    {"qwen3", "cafe\xCC\x81", false, {924, 58858}},                     // NFC first: e + U+0301 → é
    {"qwen3", "a   b", false, {64, 256, 293}},                          // a | ĠĠ | Ġb
    {"qwen3", "\xE4\xBD\xA0\xE5\xA5\xBD", false, {108386}},             // 你好
    {"qwen3", "\xF0\x9F\x98\x80", false, {141334}},                     // 😀
    {"qwen3", " tokenizer", false, {45958}},                            // 9 merges, see docs/tokenization.md
    {"qwen3", "", false, {}},
    // Llama 3: ignore_merges, \p{N}{1,3}, no normalizer (so e + U+0301 stays two characters).
    {"llama3", "Hello world", false, {9906, 1917}},
    {"llama3", "1234567", false, {4513, 10961, 22}},                    // 123 | 456 | 7
    {"llama3", "  hello", false, {220, 24748}},
    {"llama3", "I'M", false, {40, 28703}},
    {"llama3", "cafe\xCC\x81", false, {936, 1897, 54939}},              // ca fe | Ìģ (the accent is its own piece)
    {"llama3", "<|begin_of_text|>Hello", false, {128000, 9906}},
    // "llama2" (Mistral-7B's SentencePiece-style vocabulary): "▁" prepended, spaces become "▁", BOS with special.
    {"llama2", "Hello world", false, {22557, 1526}},                    // ▁Hello | ▁world
    {"llama2", "Hello world", true, {1, 22557, 1526}},
    {"llama2", " Hello", false, {28705, 22557}},                        // ▁ | ▁Hello
    {"llama2", "a  b", false, {264, 28705, 287}},                       // ▁a | ▁ | ▁b
    {"llama2", "\n", false, {28705, 13}},                               // ▁ | <0x0A> (byte fallback)
    {"llama2", "\xF0\x9D\x95\xB3", false, {28705, 243, 160, 152, 182}}, // 𝕳 → <0xF0> <0x9D> <0x95> <0xB3>
    {"llama2", "tokenizer", false, {6029, 4024}},                       // ▁token | izer
    {"llama2", "", true, {1}},
    {"llama2", "<s>Hello</s>", false, {1, 22557, 2}},                   // added tokens split out before "▁" is added
};

TEST(TokenizerKnownIds, HandChecked) {
  for (const Case& c : kCases) {
    const Tokenizer& tok = real_tokenizer(c.tokenizer);
    EXPECT_EQ(ids_to_string(tok.encode(c.text, c.add_special)), ids_to_string(c.ids))
        << c.tokenizer << " \"" << c.text << "\" special=" << c.add_special;
  }
}

TEST(TokenizerKnownIds, Decode) {
  EXPECT_EQ(real_tokenizer("qwen3").decode({9707, 1879}, true), "Hello world");
  EXPECT_EQ(real_tokenizer("qwen3").decode({151644, 872, 198, 13048, 151645}, false), "<|im_start|>user\nHi<|im_end|>");
  EXPECT_EQ(real_tokenizer("qwen3").decode({151644, 872, 198, 13048, 151645}, true), "user\nHi");
  EXPECT_EQ(real_tokenizer("llama3").decode({128000, 9906, 1917}, true), "Hello world");
  // Llama 2's decoder strips one leading space of the whole text; "<s>" goes through the decoder too.
  EXPECT_EQ(real_tokenizer("llama2").decode({1, 22557, 1526}, true), "Hello world");
  EXPECT_EQ(real_tokenizer("llama2").decode({1, 22557, 1526}, false), "<s> Hello world");
  EXPECT_EQ(real_tokenizer("llama2").decode({28705, 243, 160, 152, 182}, false), "\xF0\x9D\x95\xB3");
  EXPECT_EQ(real_tokenizer("llama2").decode({243, 160}, false), "\xEF\xBF\xBD\xEF\xBF\xBD");  // one U+FFFD per byte
  // Byte-level: a cut emoji decodes lossily, one U+FFFD for the unfinished sequence.
  const Tokenizer& qwen = real_tokenizer("qwen3");
  EXPECT_EQ(qwen.decode({*qwen.token_to_id("\xC3\xB0"), *qwen.token_to_id("\xC5\x81")}, false), "\xEF\xBF\xBD");
  // Ids without a token are skipped, as Hugging Face does.
  EXPECT_EQ(qwen.decode({9707, 999999, -5, 1879}, false), "Hello world");
}

TEST(TokenizerKnownIds, Vocabulary) {
  const Tokenizer& qwen = real_tokenizer("qwen3");
  EXPECT_EQ(qwen.vocab_size(), 151669);
  EXPECT_EQ(real_tokenizer("llama3").vocab_size(), 128256);
  EXPECT_EQ(real_tokenizer("llama2").vocab_size(), 32000);
  EXPECT_EQ(qwen.token_to_id("<|im_start|>"), 151644);
  EXPECT_EQ(qwen.token_to_id("Hello"), 9707);
  EXPECT_EQ(qwen.token_to_id("no such token"), std::nullopt);
  EXPECT_EQ(qwen.id_to_token(1879), "\xC4\xA0world");  // "Ġworld": raw vocabulary string
  EXPECT_EQ(qwen.id_to_token(151645), "<|im_end|>");
  EXPECT_TRUE(qwen.is_special(151644));
  EXPECT_FALSE(qwen.is_special(151667));  // <think> is an added token but not special
  EXPECT_FALSE(qwen.is_special(9707));
  EXPECT_TRUE(real_tokenizer("llama2").is_special(1));
  EXPECT_THROW(qwen.id_to_token(151669), Error);
  EXPECT_THROW(qwen.id_to_token(-1), Error);
}

TEST(TokenizerKnownIds, RepeatedAndConcurrentEncodeAgree) {
  // The word cache must not change results: encode twice, and from several threads at once.
  const Tokenizer& tok = real_tokenizer("qwen3");
  const std::string text = "The cache holds pieces; the cache holds pieces again. 12345 \xF0\x9F\x98\x80!";
  const auto first = tok.encode(text, false);
  EXPECT_EQ(tok.encode(text, false), first);
  std::vector<std::vector<int32_t>> results(4);
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      for (int rep = 0; rep < 20; ++rep) results[k] = tok.encode(text, false);
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) EXPECT_EQ(r, first);
}

}  // namespace
}  // namespace fs::test
