#include "engine/generate.h"

#include <algorithm>
#include <chrono>

#include "util/error.h"

namespace fs {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
}  // namespace

GenerateStats generate(Model& model, const std::vector<int32_t>& prompt, const GenerateOptions& opt,
                       const std::function<bool(int32_t)>& on_token) {
  if (prompt.empty()) throw Error("the prompt is empty: nothing to continue");
  Sampler sampler(opt.sampling);
  GenerateStats st;
  st.prompt_tokens = int(prompt.size());
  std::vector<int32_t> context = prompt;  // for the repetition penalty

  auto next = [&]() -> int32_t {
    // Greedy without a repetition penalty needs only the argmax, which the backend computes in place.
    if (opt.sampling.greedy() && opt.sampling.repetition_penalty == 1.0f) return model.greedy_token();
    auto logits = model.logits();
    return sampler.sample(logits, context);
  };

  auto t0 = std::chrono::steady_clock::now();
  model.forward(prompt.data(), int(prompt.size()));
  int32_t tok = next();
  st.prefill_seconds = seconds_since(t0);

  auto t1 = std::chrono::steady_clock::now();
  for (;;) {
    ++st.generated;
    context.push_back(tok);
    const bool stop = std::find(opt.stop_ids.begin(), opt.stop_ids.end(), tok) != opt.stop_ids.end();
    if (!on_token(tok)) break;
    if (stop) {
      st.stopped_by_eos = true;
      break;
    }
    if (st.generated >= opt.max_new_tokens || model.position() >= model.max_context()) break;
    model.forward(&tok, 1);
    tok = next();
  }
  st.decode_seconds = seconds_since(t1);
  return st;
}

}  // namespace fs
