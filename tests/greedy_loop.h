// The plain greedy loop, "forward(&tok, 1); tok = greedy_token();", as the reference for Model::greedy_decode (the
// engine tests on the CPU, the CUDA model tests on the GPU).
#pragma once
#include <cstdint>
#include <vector>

#include "engine/model.h"

namespace fs::test {

// The prompt from position 0, then up to n tokens, one forward pass each, stopping where the context is full — as
// generate() does. The model is left where greedy_decode must leave it.
inline std::vector<int32_t> greedy_token_loop(Model& m, const std::vector<int32_t>& prompt, int n) {
  m.reset();
  m.forward(prompt.data(), int(prompt.size()));
  std::vector<int32_t> out = {m.greedy_token()};
  while (int(out.size()) < n && m.position() < m.max_context()) {
    m.forward(&out.back(), 1);
    out.push_back(m.greedy_token());
  }
  return out;
}

}  // namespace fs::test
