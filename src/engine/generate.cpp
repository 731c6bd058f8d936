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

  auto is_stop = [&](int32_t t) {
    return std::find(opt.stop_ids.begin(), opt.stop_ids.end(), t) != opt.stop_ids.end();
  };
  auto t0 = std::chrono::steady_clock::now();
  model.forward(prompt.data(), int(prompt.size()));

  if (opt.sampling.greedy() && opt.sampling.repetition_penalty == 1.0f) {
    // Greedy without a repetition penalty needs only the argmax, which the backend computes in place and feeds to
    // the next step itself; the host reads each token one step behind (Model::greedy_decode). Same tokens, same
    // stopping rules as the sampling loop below.
    auto t1 = t0;
    model.greedy_decode(std::max(1, opt.max_new_tokens), [&](int32_t tok) {
      if (st.generated++ == 0) {
        st.prefill_seconds = seconds_since(t0);
        t1 = std::chrono::steady_clock::now();
      }
      if (!on_token(tok)) return false;
      if (is_stop(tok)) {
        st.stopped_by_eos = true;
        return false;
      }
      return true;
    });
    st.decode_seconds = seconds_since(t1);
    return st;
  }

  auto next = [&]() -> int32_t {
    auto logits = model.logits();
    return sampler.sample(logits, context);
  };
  int32_t tok = next();
  st.prefill_seconds = seconds_since(t0);

  auto t1 = std::chrono::steady_clock::now();
  for (;;) {
    ++st.generated;
    context.push_back(tok);
    const bool stop = is_stop(tok);
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
