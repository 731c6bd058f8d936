// StreamDecoder: incremental detokenization that is exactly decode() in pieces.
//
// The ids seen so far are split into consecutive windows; each window is decoded on its own (the decoder knows
// whether a window starts or ends the sequence, see components.h) and emitted once no later token can change
// it. A window is closed right after a push when every decoder step reports a clean cut there:
//   ByteLevel      the bytes so far do not end inside a UTF-8 character         (Qwen, Llama 3: "😀" = 4 bytes,
//                                                                                 often 2-3 tokens)
//   ByteFallback   the last token is not a <0xNN> byte token                     (Llama 2: emoji, rare CJK)
//   Strip          the leading strip is settled, and no trailing strip character is pending
// Otherwise the window grows; finish() decodes what is left as the sequence's end. Skipped special tokens never
// enter a window, as decode() filters them before the decoder too.
#include "tokenizer/tokenizer_impl.h"

namespace fs {

StreamDecoder::StreamDecoder(const Tokenizer& tok, bool skip_special_tokens, bool continuation)
    : impl_(tok.impl_), skip_special_(skip_special_tokens), continuation_(continuation), at_start_(!continuation) {}

std::string StreamDecoder::push(int32_t id) {
  const size_t before = window_.size();
  impl_->tokens_for_decoding(&id, 1, skip_special_, window_);
  if (window_.size() == before) return {};
  const tok::Part part{at_start_, false};
  if (!impl_->decoder->cut_is_clean(window_, part, false)) return {};
  impl_->decoder->apply(window_, part, false);
  std::string text;
  for (const std::string& s : window_) text += s;
  window_.clear();
  at_start_ = false;
  return text;
}

std::string StreamDecoder::finish() {
  std::string text;
  if (!window_.empty()) {
    impl_->decoder->apply(window_, tok::Part{at_start_, true}, false);
    for (const std::string& s : window_) text += s;
  }
  window_.clear();
  at_start_ = !continuation_;
  return text;
}

}  // namespace fs
