// Unit tests of the tokenizer's parts: UTF-8 (lossy decoding as Rust does it), Unicode normalization (the UAX #15
// examples, and the Unicode 9.0 cut-off Hugging Face has), the regex rewrite, pre-tokenizers (Hugging Face's own
// documented examples), decoders, and the two BPE merge loops agreeing.
#include <gtest/gtest.h>

#include <random>

#include "tokenizer/components.h"
#include "tokenizer/regex.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode_normalize.h"
#include "tokenizer/utf8.h"
#include "tokenizer_fixtures.h"

namespace fs::test {
namespace {

const std::string kFFFD = "\xEF\xBF\xBD";

TEST(TokenizerUtf8, LossyReplacesMaximalSubparts) {
  EXPECT_EQ(tok::utf8_lossy("abc"), "abc");
  EXPECT_EQ(tok::utf8_lossy("a\x80" "b"), "a" + kFFFD + "b");
  EXPECT_EQ(tok::utf8_lossy("\xF0\x9F\x98"), kFFFD);                 // truncated 4-byte character: one U+FFFD
  EXPECT_EQ(tok::utf8_lossy("\xF0\x9F\x98!"), kFFFD + "!");
  EXPECT_EQ(tok::utf8_lossy("\xE0\x80"), kFFFD + kFFFD);             // E0 needs A0..BF next
  EXPECT_EQ(tok::utf8_lossy("\xED\xA0\x80"), kFFFD + kFFFD + kFFFD); // surrogate
  EXPECT_EQ(tok::utf8_lossy("\xC0\xAF"), kFFFD + kFFFD);             // overlong
  EXPECT_EQ(tok::utf8_lossy("\xF4\x90\x80\x80"), kFFFD + kFFFD + kFFFD + kFFFD);  // above U+10FFFF
  EXPECT_EQ(tok::utf8_lossy("\xF0\x9F\x98\x80"), "\xF0\x9F\x98\x80");
}

TEST(TokenizerUtf8, EndsMidSequence) {
  EXPECT_TRUE(tok::utf8_ends_mid_sequence("a\xF0\x9F"));
  EXPECT_TRUE(tok::utf8_ends_mid_sequence("\xE2\x82"));
  EXPECT_TRUE(tok::utf8_ends_mid_sequence("\xC3"));
  EXPECT_FALSE(tok::utf8_ends_mid_sequence("\xF0\x9F\x98\x80"));
  EXPECT_FALSE(tok::utf8_ends_mid_sequence("a"));
  EXPECT_FALSE(tok::utf8_ends_mid_sequence(""));
  EXPECT_FALSE(tok::utf8_ends_mid_sequence("\x80"));      // a stray continuation byte is already final
  EXPECT_FALSE(tok::utf8_ends_mid_sequence("\xE0\x80"));  // already ill-formed: two U+FFFD, nothing pending
  EXPECT_FALSE(tok::utf8_ends_mid_sequence("\xF0\x9F\x98\x80\x80"));
}

std::string norm(const std::string& s, tok::NormalForm form) {
  std::string out;
  return tok::unicode_normalize(s, form, out) ? out : s;
}

TEST(TokenizerUnicodeNormalize, Uax15Examples) {
  using tok::NormalForm;
  EXPECT_EQ(norm("e\xCC\x81", NormalForm::NFC), "\xC3\xA9");                 // e + ◌́ → é
  EXPECT_EQ(norm("\xC3\xA9", NormalForm::NFD), "e\xCC\x81");
  EXPECT_EQ(norm("\xE2\x84\xAB", NormalForm::NFC), "\xC3\x85");             // Å ANGSTROM SIGN → Å (singleton)
  const std::string long_s_dot = "\xE1\xBA\x9B\xCC\xA3";                    // ẛ̣ U+1E9B U+0323
  EXPECT_EQ(norm(long_s_dot, NormalForm::NFC), long_s_dot);
  EXPECT_EQ(norm(long_s_dot, NormalForm::NFD), "\xC5\xBF\xCC\xA3\xCC\x87");  // ſ ◌̣ ◌̇
  EXPECT_EQ(norm(long_s_dot, NormalForm::NFKC), "\xE1\xB9\xA9");            // ṩ
  EXPECT_EQ(norm(long_s_dot, NormalForm::NFKD), "s\xCC\xA3\xCC\x87");
  // Canonical ordering: dot below (class 220) before circumflex (230), either input order composes to ậ.
  EXPECT_EQ(norm("a\xCC\x82\xCC\xA3", NormalForm::NFC), "\xE1\xBA\xAD");
  EXPECT_EQ(norm("a\xCC\xA3\xCC\x82", NormalForm::NFC), "\xE1\xBA\xAD");
  // Hangul: L V T jamo compose arithmetically, and a syllable decomposes back.
  EXPECT_EQ(norm("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8", NormalForm::NFC), "\xEA\xB0\x81");  // 각
  EXPECT_EQ(norm("\xEA\xB0\x80\xE1\x86\xA8", NormalForm::NFC), "\xEA\xB0\x81");              // 가 + ᆨ
  EXPECT_EQ(norm("\xEA\xB0\x81", NormalForm::NFD), "\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8");
  EXPECT_EQ(norm("\xEF\xAC\x81", NormalForm::NFKC), "fi");                  // ﬁ ligature
  EXPECT_EQ(norm("\xEF\xAC\x81", NormalForm::NFC), "\xEF\xAC\x81");
  std::string unchanged;
  EXPECT_FALSE(tok::unicode_normalize("plain ASCII and \xE4\xBD\xA0\xE5\xA5\xBD", tok::NormalForm::NFC, unchanged));
}

TEST(TokenizerUnicodeNormalize, UsesUnicode9LikeHuggingFace) {
  // U+0898 (Unicode 14, class 230) is a starter with no class to Hugging Face's Unicode 9.0 tables, so it blocks
  // reordering: U+0316 (class 220) stays after it. With current Unicode data the two would swap.
  const std::string s = "a\xE0\xA2\x98\xCC\x96";
  EXPECT_EQ(norm(s, tok::NormalForm::NFC), s);
}

TEST(TokenizerRegex, WhitespaceIsOnigurumasWhiteSpace) {
  EXPECT_EQ(tok::Regex::translate(R"(\s+(?!\S))"), R"(\p{White_Space}+(?!\P{White_Space}))");
  EXPECT_EQ(tok::Regex::translate(R"([^\s\p{L}])"), R"([^\p{White_Space}\p{L}])");
  EXPECT_EQ(tok::Regex::translate(R"(\\s)"), R"(\\s)");  // an escaped backslash followed by 's'
  auto count = [](const tok::Regex& re, const std::string& text) {
    int n = 0;
    re.find_all(text, [&](size_t, size_t) { ++n; });
    return n;
  };
  const tok::Regex space("\\s", false, "test");
  EXPECT_EQ(count(space, "\xE1\xA0\x8E"), 0);  // U+180E is not White_Space (PCRE2's own \s says it is)
  EXPECT_EQ(count(space, "\xC2\x85\xC2\xA0\xE3\x80\x80 \t"), 5);
  const tok::Regex contraction("(?i:'s|'ll)", false, "test");
  EXPECT_EQ(count(contraction, "'S 'll 'LL 'Ll \xE2\x80\x99s"), 4);  // the curly apostrophe is not "'"
  const tok::Regex empty("x*", false, "test");
  EXPECT_EQ(count(empty, "axxb"), 3);  // like the Rust onig crate: "" at 0, "xx", "" at 4 (not "" at 3: it touches "xx")
}

std::vector<std::string> pieces(const std::string& pre_tokenizer_json, const std::string& text) {
  const auto pre = tok::make_pre_tokenizer(nlohmann::json::parse(pre_tokenizer_json), "test");
  std::vector<std::string> out;
  pre->split(text, true, [&](std::string_view p, bool) { out.emplace_back(p); });
  return out;
}

using Pieces = std::vector<std::string>;

TEST(TokenizerPreTokenizers, SplitBehaviors) {
  auto split = [](const std::string& behavior, bool invert) {
    return R"({"type": "Split", "pattern": {"String": ","}, "behavior": ")" + behavior +
           R"(", "invert": )" + (invert ? "true" : "false") + "}";
  };
  EXPECT_EQ(pieces(split("Isolated", false), "a,b,,c"), (Pieces{"a", ",", "b", ",", ",", "c"}));
  EXPECT_EQ(pieces(split("Removed", false), "a,b,,c"), (Pieces{"a", "b", "c"}));
  EXPECT_EQ(pieces(split("MergedWithPrevious", false), "a,b,,c"), (Pieces{"a,", "b,", ",", "c"}));
  EXPECT_EQ(pieces(split("MergedWithNext", false), "a,b,,c"), (Pieces{"a", ",b", ",", ",c"}));
  EXPECT_EQ(pieces(split("Contiguous", false), "a,b,,c"), (Pieces{"a", ",", "b", ",,", "c"}));
  EXPECT_EQ(pieces(split("Removed", true), "a,b,,c"), (Pieces{",", ",", ","}));
  EXPECT_EQ(pieces(split("Isolated", false), ""), Pieces{});
}

TEST(TokenizerPreTokenizers, ByteLevelLikeGpt2) {
  const std::string gpt2 = R"({"type": "ByteLevel", "add_prefix_space": false, "use_regex": true})";
  EXPECT_EQ(pieces(gpt2, "Hello my friend, how is your day going?"),
            (Pieces{"Hello", "\xC4\xA0my", "\xC4\xA0" "friend", ",", "\xC4\xA0how", "\xC4\xA0is", "\xC4\xA0your",
                    "\xC4\xA0" "day", "\xC4\xA0going", "?"}));
  EXPECT_EQ(pieces(gpt2, "Hello there       dear"),
            (Pieces{"Hello", "\xC4\xA0there", "\xC4\xA0\xC4\xA0\xC4\xA0\xC4\xA0\xC4\xA0\xC4\xA0", "\xC4\xA0" "dear"}));
  const std::string prefixed = R"({"type": "ByteLevel", "add_prefix_space": true, "use_regex": true})";
  EXPECT_EQ(pieces(prefixed, "Hello"), Pieces{"\xC4\xA0Hello"});
  EXPECT_EQ(pieces(prefixed, " Hello"), Pieces{"\xC4\xA0Hello"});
  EXPECT_EQ(pieces(R"({"type": "ByteLevel", "add_prefix_space": false, "use_regex": false})", "a b\n"),
            Pieces{"a\xC4\xA0" "b\xC4\x8A"});
}

TEST(TokenizerPreTokenizers, MetaspaceAndDigits) {
  const std::string meta = R"({"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": true})";
  EXPECT_EQ(pieces(meta, "Hey friend!"), (Pieces{"\xE2\x96\x81Hey", "\xE2\x96\x81" "friend!"}));
  EXPECT_EQ(pieces(meta, "Hey   friend!"),
            (Pieces{"\xE2\x96\x81Hey", "\xE2\x96\x81", "\xE2\x96\x81", "\xE2\x96\x81" "friend!"}));
  EXPECT_EQ(pieces(R"({"type": "Digits", "individual_digits": true})", "a123b"), (Pieces{"a", "1", "2", "3", "b"}));
  EXPECT_EQ(pieces(R"({"type": "Digits", "individual_digits": false})", "a123b"), (Pieces{"a", "123", "b"}));
}

std::string decode_with(const std::string& decoder_json, std::vector<std::string> tokens) {
  const auto dec = tok::make_decoder(nlohmann::json::parse(decoder_json), "test");
  dec->apply(tokens, tok::Part{}, false);
  std::string s;
  for (const auto& t : tokens) s += t;
  return s;
}

TEST(TokenizerDecoders, HuggingFaceExamples) {
  const std::string bf = R"({"type": "ByteFallback"})";
  EXPECT_EQ(decode_with(bf, {"<0x61>"}), "a");
  EXPECT_EQ(decode_with(bf, {"<0xE5>"}), kFFFD);
  EXPECT_EQ(decode_with(bf, {"<0xE5>", "<0x8f>"}), kFFFD + kFFFD);
  EXPECT_EQ(decode_with(bf, {"<0xE5>", "<0x8f>", "<0xab>"}), "\xE5\x8F\xAB");  // 叫
  EXPECT_EQ(decode_with(bf, {"<0xE5>", "<0x8f>", "a"}), kFFFD + kFFFD + "a");
  EXPECT_EQ(decode_with(R"({"type": "Strip", "content": "H", "start": 1, "stop": 0})", {"Hey", " friend!", "HHH"}),
            "ey friend!HH");
  EXPECT_EQ(decode_with(R"({"type": "Strip", "content": "y", "start": 0, "stop": 1})", {"Hey", " friend!"}),
            "He friend!");
  EXPECT_EQ(decode_with(R"({"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always"})",
                        {"\xE2\x96\x81Hey", "\xE2\x96\x81" "friend!"}),
            "Hey friend!");
  EXPECT_EQ(decode_with(R"({"type": "ByteLevel"})", {"Hello", "\xC4\xA0my", "\xC4\xA0" "friend", ","}),
            "Hello my friend,");
  EXPECT_EQ(decode_with(R"({"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "})",
                        {"\xE2\x96\x81" "a\xE2\x96\x81" "b"}),
            " a b");
}

TEST(TokenizerBpe, ScanAndHeapMergeAgree) {
  // The two merge loops on random byte strings drawn from text-like bytes, with the real Qwen3 merges.
  const tok::BpeModel& model = real_tokenizer("qwen3").impl().model;
  const std::string alphabet = "etaoinshrdlu ETAOIN,.'0123456789\n\xC3\xA9\xE4\xBD\xA0";
  std::mt19937 rng(7);
  for (int round = 0; round < 2000; ++round) {
    std::vector<int32_t> syms;
    const int n = 2 + int(rng() % 63);
    for (int k = 0; k < n; ++k) syms.push_back(model.byte_symbol[static_cast<unsigned char>(alphabet[rng() % alphabet.size()])]);
    std::vector<int32_t> a = syms, b = syms;
    model.merge_scan(a);
    model.merge_heap(b);
    ASSERT_EQ(a, b) << "round " << round;
  }
}

}  // namespace
}  // namespace fs::test
