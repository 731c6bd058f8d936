#include "engine/generate.h"

#include <algorithm>
#include <chrono>

#include "util/error.h"

namespace fs {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
constexpr int kWindowCap = 16384;  // ids a window may hold (128 KB of (z, id) pairs); more: the whole row
}  // namespace

int32_t sample_next(Model& model, Sampler& sampler, std::span<const int32_t> context) {
  if (const float window = sampler.window(); window > 0) {
    LogitWindow w;
    if (model.logit_window(sampler.params().temperature, window, kWindowCap, w))
      if (const int32_t tok = sampler.sample(w); tok >= 0) return tok;
  }
  auto logits = model.logits();
  return sampler.sample(logits, context);
}

GenerateStats generate(Model& model, const std::vector<int32_t>& prompt, const GenerateOptions& opt,
                       const std::function<bool(int32_t)>& on_token) {
  if (prompt.empty()) throw Error("the prompt is empty: nothing to continue");
  Sampler sampler(opt.sampling);
  GenerateStats st;
  st.prompt_tokens = int(prompt.size());
  std::vector<int32_t> context = prompt;  // for the repetition penalty

  auto is_stop = [&](int32_t t) {
    return std::find(opt.stop_ids.begin(), opt.stop_ids.end(), t) != opt.stop_ids.end();
  };
  const auto t0 = std::chrono::steady_clock::now();
  auto t1 = t0;
  model.forward(prompt.data(), int(prompt.size()));

  // Counts a new token and hands it over; false: generation ends with it. The budget and the context are checked
  // by the loops below.
  auto emit = [&](int32_t tok) {
    if (st.generated++ == 0) {
      st.prefill_seconds = seconds_since(t0);  // prompt → first token
      t1 = std::chrono::steady_clock::now();
    }
    context.push_back(tok);
    if (!on_token(tok)) return false;
    if (is_stop(tok)) {
      st.stopped_by_eos = true;
      return false;
    }
    return true;
  };

  if (opt.sampling.greedy() && opt.sampling.repetition_penalty == 1.0f) {
    // Greedy without a repetition penalty needs only the argmax, which the backend computes in place and feeds to
    // the next step itself; the host reads each token one step behind (Model::greedy_decode).
    model.greedy_decode(std::max(1, opt.max_new_tokens), emit);
  } else {
    for (;;) {
      const int32_t tok = sample_next(model, sampler, context);
      if (!emit(tok) || st.generated >= opt.max_new_tokens || model.position() >= model.max_context()) break;
      model.forward(&tok, 1);
    }
  }
  st.decode_seconds = seconds_since(t1);
  return st;
}

}  // namespace fs
