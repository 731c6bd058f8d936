#include "server/completion.h"

#include <algorithm>
#include <random>

#include "engine/generate.h"
#include "server/stop_strings.h"

namespace fs {

CompletionRunner::CompletionRunner(Model& model, Tokenizer tok, std::optional<ChatTemplate> chat_template,
                                   std::string template_error, GenerationConfig gen)
    : model_(model),
      tok_(std::move(tok)),
      template_(std::move(chat_template)),
      template_error_(std::move(template_error)),
      gen_(std::move(gen)) {}

PreparedCompletion CompletionRunner::prepare(const CompletionRequest& r, std::optional<uint64_t> default_seed) const {
  PreparedCompletion p;
  const bool chat = r.endpoint == Endpoint::kChat;
  const char* field = chat ? "messages" : "prompt";
  try {
    if (chat) {
      if (!template_) throw RequestError("messages", template_error_);
      p.ids = tok_.encode(template_->render(r.messages, true, r.template_kwargs), /*add_special_tokens=*/false);
    } else if (!r.prompt_ids.empty()) {
      p.ids = r.prompt_ids;
      const int vocab = model_.config().vocab_size;
      for (int32_t id : p.ids)
        if (id >= vocab)
          throw RequestError("prompt", "token id " + std::to_string(id) + " is not below the vocabulary size " +
                                           std::to_string(vocab));
    } else {
      p.ids = tok_.encode(r.prompt, /*add_special_tokens=*/true);
    }
  } catch (const RequestError&) {
    throw;
  } catch (const Error& e) {  // the template raised, or the text is not UTF-8
    throw RequestError(field, e.what());
  }
  if (p.ids.empty()) throw RequestError(field, "makes no tokens: nothing to continue");

  const int ctx = model_.max_context(), n = int(p.ids.size());
  if (n >= ctx)
    throw RequestError(field, "is " + std::to_string(n) + " tokens, and the context holds " + std::to_string(ctx) +
                                  " (start the server with a larger --ctx)");
  if (r.max_tokens && *r.max_tokens > ctx - n)
    throw RequestError("max_tokens", std::to_string(n) + " prompt tokens + " + std::to_string(*r.max_tokens) +
                                         " new ones exceed the context of " + std::to_string(ctx) + " tokens");
  p.max_tokens = r.max_tokens.value_or(ctx - n);
  p.sampling = r.sampling;
  p.sampling.seed = r.seed ? *r.seed : default_seed ? *default_seed : std::random_device{}();
  p.stop = r.stop;
  p.ignore_eos = r.ignore_eos;
  return p;
}

CompletionResult CompletionRunner::run(const PreparedCompletion& p,
                                       const std::function<bool(const std::string&)>& on_text) {
  std::lock_guard<std::mutex> lock(mu_);
  // Reuse the longest cached prefix of the prompt; its last token always runs again.
  size_t common = 0;
  while (common < cached_.size() && common + 1 < p.ids.size() && cached_[common] == p.ids[common]) ++common;
  model_.truncate(int(common));
  const std::vector<int32_t> fresh(p.ids.begin() + long(common), p.ids.end());

  GenerateOptions opt;
  opt.max_new_tokens = p.max_tokens;
  opt.sampling = p.sampling;
  if (!p.ignore_eos) opt.stop_ids = gen_.eos_ids;
  StreamDecoder decoder(tok_, /*skip_special_tokens=*/true, /*continuation=*/true);  // the reply follows the prompt
  StopScanner scanner(p.stop);
  std::vector<int32_t> out;
  bool listening = true;
  auto send = [&](const std::string& text) {
    if (listening && !text.empty()) listening = on_text(text);
    return listening;
  };
  GenerateStats st;
  try {
    st = generate(model_, fresh, opt, [&](int32_t t) {
      out.push_back(t);
      return send(scanner.push(decoder.push(t))) && !scanner.stopped();
    });
  } catch (...) {
    cached_.clear();  // the cache may hold a half-written step: start the next request from scratch
    model_.reset();
    throw;
  }
  if (!scanner.stopped()) send(scanner.push(decoder.finish()));
  send(scanner.finish());

  // The model's cache now holds the prompt and every generated token but the last (which was only sampled).
  cached_ = p.ids;
  cached_.insert(cached_.end(), out.begin(), out.end());
  cached_.resize(std::min(cached_.size(), size_t(model_.position())));

  CompletionResult r;
  r.finish_reason = scanner.stopped() || st.stopped_by_eos ? "stop" : "length";
  r.usage = {int(p.ids.size()), int(common), st.generated};
  r.prefill_seconds = st.prefill_seconds;
  r.decode_seconds = st.decode_seconds;
  return r;
}

int CompletionRunner::cached_tokens() const {
  std::lock_guard<std::mutex> lock(mu_);
  return int(cached_.size());
}

}  // namespace fs
