// Tokenizer::encode / decode, following Hugging Face's pipeline:
//
//   encode: added tokens (normalized: false) are cut out of the raw text; each stretch between them is
//           normalized, then cut again at added tokens with normalized: true, pre-tokenized into pieces, and each
//           piece is BPE-encoded. The post-processor adds BOS/EOS when asked.
//   decode: ids → token strings (added token content or vocabulary entry; ids without a token are skipped, and
//           special tokens too when asked) → the decoder chain → the concatenation of what it returns.
#include <string>
#include <vector>

#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/utf8.h"
#include "util/error.h"

namespace fs {

bool Tokenizer::Impl::token_of(int32_t id, std::string_view& out) const {
  if (const auto it = added_by_id.find(id); it != added_by_id.end()) {
    out = added[it->second].content;
    return true;
  }
  if (!model.vocab.has_id(id)) return false;
  out = model.vocab.get(id);
  return true;
}

void Tokenizer::Impl::tokens_for_decoding(const int32_t* ids, size_t n, bool skip_special,
                                          std::vector<std::string>& out) const {
  std::string_view token;
  for (size_t k = 0; k < n; ++k) {
    if (!token_of(ids[k], token)) continue;
    if (skip_special && id_is_special(ids[k])) continue;
    out.emplace_back(token);
  }
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  const Impl& t = *impl_;
  if (const size_t bad = tok::utf8_first_invalid(text); bad != std::string_view::npos) {
    throw Error("tokenizer: input text is not valid UTF-8 (bad byte 0x" +
                [&] {
                  static const char* hex = "0123456789ABCDEF";
                  const auto b = static_cast<unsigned char>(text[bad]);
                  return std::string{hex[b >> 4], hex[b & 15]};
                }() +
                " at offset " + std::to_string(bad) + ")");
  }
  // The word cache when no other encode() holds it; otherwise this call goes without (it never blocks).
  std::unique_lock<std::mutex> lock(t.cache_mutex, std::try_to_lock);
  tok::WordCache* cache = lock.owns_lock() ? &t.cache : nullptr;

  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  auto model_pieces = [&](std::string_view s, bool first) {
    if (!t.pre_tokenizer) return t.model.tokenize(s, false, ids, cache);
    t.pre_tokenizer->split(s, first, [&](std::string_view piece, bool) {
      t.model.tokenize(piece, t.pieces_are_raw_bytes, ids, cache);
    });
  };
  auto add_token = [&](const tok::AddedToken& a) { ids.push_back(a.id); };
  std::string normalized;
  auto plain_text = [&](std::string_view stretch) {
    const bool first = stretch.data() == text.data();
    std::string_view s = stretch;
    if (t.normalizer) {
      normalized.assign(stretch);
      t.normalizer->normalize(normalized);
      s = normalized;
    }
    if (t.normalized_matcher.empty()) {
      if (!s.empty()) model_pieces(s, first);
    } else {
      t.normalized_matcher.split(
          s, [&](std::string_view part) { model_pieces(part, first && part.data() == s.data()); }, add_token);
    }
  };
  t.raw_matcher.split(text, plain_text, add_token);
  if (t.post_processor) t.post_processor->process(ids, add_special_tokens);
  return ids;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  impl_->tokens_for_decoding(ids.data(), ids.size(), skip_special_tokens, tokens);
  impl_->decoder->apply(tokens, tok::Part{true, true}, false);
  std::string text;
  for (const std::string& s : tokens) text += s;
  return text;
}

int32_t Tokenizer::vocab_size() const { return impl_->vocab_size; }

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  if (const auto it = impl_->added_by_content.find(std::string(token)); it != impl_->added_by_content.end()) {
    return it->second;
  }
  const int32_t id = impl_->model.vocab.find(token);
  if (id < 0) return std::nullopt;
  return id;
}

std::string Tokenizer::id_to_token(int32_t id) const {
  std::string_view token;
  if (!impl_->token_of(id, token)) {
    throw Error("tokenizer: id " + std::to_string(id) + " has no token (vocabulary size " +
                std::to_string(impl_->vocab_size) + ")");
  }
  return std::string(token);
}

bool Tokenizer::is_special(int32_t id) const { return impl_->id_is_special(id); }

}  // namespace fs
