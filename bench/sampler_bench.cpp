// Sampler speed on a large vocabulary: milliseconds the host spends turning one token's logits into an id.
//
//   sampler_bench [--vocab 151936] [--repeat 200]
//
// The logits are normal(0, 3) numbers from a fixed seed (a spread like a real model's), copied afresh before each
// draw because the sampler scales them in place. Each setting is timed over --repeat draws; printed: the median
// and the fastest draw in ms. The settings are the generation_config.json defaults of the target models (Qwen3:
// temperature 0.6, top-k 20, top-p 0.95; Llama-3.2-Instruct: temperature 0.6, top-p 0.9), min-p alone, and plain
// temperature. At batch 1 this cost adds to every sampled token's GPU step (greedy decoding never calls it).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine/sampler.h"

int main(int argc, char** argv) {
  size_t vocab = 151936;
  int repeat = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--vocab")) vocab = std::stoul(argv[i + 1]);
    if (!std::strcmp(argv[i], "--repeat")) repeat = std::stoi(argv[i + 1]);
  }
  std::mt19937 gen(1);
  std::normal_distribution<float> normal(0.f, 3.f);
  std::vector<float> logits(vocab), scratch;
  for (auto& x : logits) x = normal(gen);

  struct Setting {
    const char* name;
    float temperature, top_p, min_p;
    int top_k;
  };
  const Setting settings[] = {{"T 0.6, top-k 20, top-p 0.95 (Qwen3)", 0.6f, 0.95f, 0.f, 20},
                              {"T 0.6, top-p 0.9 (Llama-3.2-Instruct)", 0.6f, 0.9f, 0.f, 0},
                              {"T 0.8, min-p 0.05", 0.8f, 1.f, 0.05f, 0},
                              {"T 1.0 only", 1.f, 1.f, 0.f, 0}};
  std::printf("vocabulary %zu, %d draws each: ms a token, median (fastest)\n", vocab, repeat);
  for (const auto& s : settings) {
    fs::SamplingParams p;
    p.temperature = s.temperature, p.top_p = s.top_p, p.min_p = s.min_p, p.top_k = s.top_k, p.seed = 1;
    fs::Sampler sampler(p);
    std::vector<double> ms;
    for (int r = 0; r < repeat; ++r) {
      scratch = logits;
      const auto t0 = std::chrono::steady_clock::now();
      sampler.sample(scratch, {});
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    std::printf("  %-40s %.3f (%.3f)\n", s.name, ms[ms.size() / 2], ms[0]);
  }
}
