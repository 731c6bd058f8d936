// Sampler speed on a large vocabulary: the time between a decode step's logits and the next token id.
//
//   sampler_bench [--vocab 151936] [--repeat 200] [--device cpu|cuda] [--sigma 3]
//
// The logits are normal(0, sigma) numbers from a fixed seed, in backend memory. Random-weight models give nearly
// flat logits, which no trained model does: at T = 0.6, sigma 3 puts 2,689 ids within 12 of the top, the window
// Sampler::window() asks for; --sigma 0.3 is such a flat row, where a top-p cut needs most of the vocabulary. Per
// setting, median (fastest) ms a token over --repeat draws, three ways:
//   draw         Sampler::sample on the row already in host memory (the host's share alone)
//   copy + draw  the row copied from the backend (600 KB for Qwen3), then the same draw: sampling before the window
//   window       Backend::logit_window (on CUDA: two launches, a few KB copied) and Sampler::sample on the window:
//                what generate() does now (sample_next), falling back to copy + draw where the window is too narrow
// The settings are the generation_config.json defaults of the target models (Qwen3: temperature 0.6, top-k 20,
// top-p 0.95; Llama-3.2-Instruct: 0.6, top-p 0.9), min-p alone and plain temperature (no cut: no window).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "engine/sampler.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Timing {
  double median, fastest;
};
template <typename F>
Timing time_draws(int repeat, F&& draw) {
  std::vector<double> ms;
  for (int r = 0; r < repeat; ++r) {
    const auto t0 = Clock::now();
    draw();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[0]};
}

}  // namespace

int main(int argc, char** argv) {
  int vocab = 151936, repeat = 200;
  float sigma = 3.f;
  std::string device = "cpu";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--vocab")) vocab = std::stoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--repeat")) repeat = std::stoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--device")) device = argv[i + 1];
    if (!std::strcmp(argv[i], "--sigma")) sigma = std::stof(argv[i + 1]);
  }
#ifdef FS_HAVE_CUDA
  auto be = device == "cuda" ? fs::make_cuda_backend() : fs::make_cpu_backend(1);
#else
  if (device == "cuda") return std::fprintf(stderr, "sampler_bench: built without the CUDA backend\n"), 1;
  auto be = fs::make_cpu_backend(1);
#endif
  std::mt19937 gen(1);
  std::normal_distribution<float> normal(0.f, sigma);
  std::vector<float> logits(static_cast<size_t>(vocab)), row;
  for (auto& x : logits) x = normal(gen);
  auto* dev = static_cast<float*>(be->alloc(logits.size() * sizeof(float)));
  be->to_device(dev, logits.data(), logits.size() * sizeof(float));

  struct Setting {
    const char* name;
    float temperature, top_p, min_p;
    int top_k;
  };
  const Setting settings[] = {{"T 0.6, top-k 20, top-p 0.95 (Qwen3)", 0.6f, 0.95f, 0.f, 20},
                              {"T 0.6, top-p 0.9 (Llama-3.2-Instruct)", 0.6f, 0.9f, 0.f, 0},
                              {"T 0.8, min-p 0.05", 0.8f, 1.f, 0.05f, 0},
                              {"T 1.0 only", 1.f, 1.f, 0.f, 0}};
  std::printf("%s, vocabulary %d, logits normal(0, %g), %d draws each: ms a token, median (fastest)\n",
              be->name().c_str(), vocab, sigma, repeat);
  std::printf("  %-40s %-16s %-16s %s\n", "setting", "draw", "copy + draw", "window");
  for (const auto& s : settings) {
    fs::SamplingParams p;
    p.temperature = s.temperature, p.top_p = s.top_p, p.min_p = s.min_p, p.top_k = s.top_k, p.seed = 1;
    fs::Sampler sampler(p);
    const Timing draw = time_draws(repeat, [&] {
      row = logits;  // the sampler scales the row in place
      sampler.sample(row, {});
    });
    const Timing copy_draw = time_draws(repeat, [&] {
      row.resize(logits.size());
      be->to_host(row.data(), dev, row.size() * sizeof(float));
      sampler.sample(row, {});
    });
    int fell_back = 0;
    const Timing window = time_draws(repeat, [&] {
      fs::LogitWindow w;
      if (sampler.window() > 0 && be->logit_window(dev, vocab, p.temperature, sampler.window(), 16384, w) &&
          sampler.sample(w) >= 0)
        return;
      ++fell_back;
      row.resize(logits.size());
      be->to_host(row.data(), dev, row.size() * sizeof(float));
      sampler.sample(row, {});
    });
    std::printf("  %-40s %.3f (%.3f)    %.3f (%.3f)    %.3f (%.3f)%s\n", s.name, draw.median, draw.fastest,
                copy_draw.median, copy_draw.fastest, window.median, window.fastest,
                fell_back ? (" — whole row " + std::to_string(fell_back) + " times").c_str() : "");
  }
  be->release(dev);
}
