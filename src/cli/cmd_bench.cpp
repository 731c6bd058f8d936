// fs bench: prompt-processing (pp) and token-generation (tg) speed, with the byte accounting that says how close
// decode runs to the memory-bandwidth limit. A row like llama-bench's, per test:
//
//   model  | device | test | tok/s (median) | bytes/token | GB/s | % of copy bandwidth
//
// Decode reads every weight once per token (plus the KV cache so far), so bytes/token × tok/s is the bandwidth it
// achieves; the ceiling is the device-to-device copy bandwidth measured in the same run (bytes read + written).
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <random>

#include "cli/options.h"
#include "engine/generate.h"
#include "util/error.h"

namespace fs::cli {

namespace {

using Clock = std::chrono::steady_clock;

struct BenchArgs {
  std::string shape, model;
  int pp = 512, tg = 128, reps = 5;
  std::vector<int> depths;  // extra decode tests at these context lengths
  DeviceOptions dev;
  SamplingFlags sampling;  // with --temp > 0: also time sampled decoding
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

// Copy bandwidth: time a device-to-device copy of a buffer far larger than any cache; bytes read + written.
double copy_bandwidth(Backend& be, size_t bytes) {
  void* a = be.alloc(bytes);
  void* b = be.alloc(bytes);
  std::vector<uint8_t> init(bytes, 0x5a);  // touch every page first (and not with zeros)
  be.to_device(a, init.data(), bytes);
  be.to_device(b, init.data(), bytes);
  int32_t sink = 0;
  std::vector<double> gbs;
  for (int r = 0; r < 7; ++r) {
    const auto t0 = Clock::now();
    be.copy(b, a, bytes);
    be.to_host(&sink, b, 4);  // waits for the copy
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (r > 0) gbs.push_back(2.0 * double(bytes) / s / 1e9);
  }
  be.release(a);
  be.release(b);
  return median(gbs);
}

std::vector<int32_t> random_ids(int n, int vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> d(0, vocab - 1);
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (auto& x : ids) x = d(rng);
  return ids;
}

void bench(const BenchArgs& a) {
  if (a.shape.empty() == a.model.empty()) throw Error("bench: give exactly one of --shape NAME or --model DIR");
  if (a.pp < 1 || a.tg < 1 || a.reps < 1) throw Error("bench: -p, -n and -r must be at least 1");
  auto be = open_backend(a.dev);
  DeviceOptions dev = a.dev;
  int need = std::max(a.pp, a.tg + 1);
  for (int d : a.depths) need = std::max(need, d + a.tg + 1);
  dev.ctx = std::max(dev.ctx, need);
  ModelOptions opt;
  opt.max_context = dev.ctx;
  auto model = a.shape.empty() ? load_model(a.model, *be, dev) : Model::synthetic(a.shape, *be, opt);
  const auto& c = model->config();
  const std::string name = a.shape.empty() ? a.model : a.shape;
  const double copy_gbs = copy_bandwidth(*be, size_t(1) << (a.dev.device == "cuda" ? 30 : 28));
  fmt::print("model: {} ({:.2f} GB of weights)   device: {}\n", name, double(model->weight_bytes()) / 1e9,
             be->name());
  fmt::print("measured copy bandwidth: {:.1f} GB/s (device-to-device, read + write)\n\n", copy_gbs);
  fmt::print("| {:<14} | {:>12} | {:>10} | {:>11} | {:>8} | {:>8} |\n", "test", "tok/s", "ms/token",
             "bytes/token", "GB/s", "% copy");
  fmt::print("|{:-<16}|{:->14}|{:->12}|{:->13}|{:->10}|{:->10}|\n", "", "", "", "", "", "");

  // Prompt processing: a fresh prompt of pp random tokens, timed to its last logits.
  const auto prompt = random_ids(a.pp, c.vocab_size, 1);
  std::vector<double> pp_s;
  for (int r = 0; r <= a.reps; ++r) {  // the first run warms up (page faults, graph capture, autotuning)
    model->reset();
    const auto t0 = Clock::now();
    model->forward(prompt.data(), a.pp);
    model->greedy_token();
    if (r) pp_s.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  const double pp_t = median(pp_s);
  // The layers' matmuls: 2 FLOP per weight per prompt token (the lm head runs for the last token only).
  const double layer_params = double(c.hidden_size) * (2.0 * c.q_dim() + 2.0 * c.kv_dim()) +
                              3.0 * double(c.hidden_size) * c.intermediate_size;
  const double flops = 2.0 * layer_params * c.n_layers * a.pp;
  fmt::print("| {:<14} | {:>12.1f} | {:>10.3f} | {:>11} | {:>8} | {:>8} |   {:.1f} TFLOP/s in the layers' matmuls (over the whole pp time)\n",
             fmt::format("pp{}", a.pp), a.pp / pp_t, pp_t * 1e3 / a.pp, "-", "-", "-", flops / pp_t / 1e12);

  // Token generation at a few depths: prefill to the depth, then time tg single-token steps. With sampling flags
  // (--temp > 0) two more rows at depth 0: sampled decoding as `fs run` does it (sample_next: the backend gathers
  // the head of the distribution), and the same draws from the whole row of logits copied to the host.
  enum Mode { kGreedy, kSampled, kSampledWholeRow };
  const SamplingParams sp = a.sampling.apply({});
  std::vector<std::pair<int, Mode>> tests = {{0, kGreedy}};
  for (int d : a.depths) tests.push_back({d, kGreedy});
  if (!sp.greedy()) tests.insert(tests.end(), {{0, kSampled}, {0, kSampledWholeRow}});
  for (const auto& [depth, mode] : tests) {
    std::vector<double> per_token;
    for (int r = 0; r <= a.reps; ++r) {
      model->reset();
      if (depth > 0) {
        const auto fill = random_ids(depth, c.vocab_size, 2);
        model->forward(fill.data(), depth);
      } else {
        const int32_t first = 1;
        model->forward(&first, 1);
      }
      model->greedy_token();  // waits for the fill
      const auto t0 = Clock::now();
      if (mode == kGreedy) {
        // tg decode steps, run as `fs run` runs them at temperature 0 (Model::greedy_decode: tg + 1 tokens, the
        // first from the fill's logits); the host reads every token.
        model->greedy_decode(a.tg + 1, [](int32_t) { return true; });
      } else {
        Sampler sampler(sp);
        std::vector<int32_t> context;
        for (int i = 0; i < a.tg; ++i) {
          int32_t tok = 0;
          if (mode == kSampled) {
            tok = sample_next(*model, sampler, context);
          } else {
            auto logits = model->logits();
            tok = sampler.sample(logits, context);
          }
          context.push_back(tok);
          model->forward(&tok, 1);
        }
        model->greedy_token();  // waits for the last step
      }
      if (r) per_token.push_back(std::chrono::duration<double>(Clock::now() - t0).count() / a.tg);
    }
    const double t = median(per_token);
    const int mid_ctx = std::max(depth, 1) + a.tg / 2;  // average context over the timed tokens
    const double bytes = double(model->decode_bytes(mid_ctx));
    const double gbs = bytes / t / 1e9;
    const std::string name = mode == kSampled           ? fmt::format("tg{} sampled", a.tg)
                             : mode == kSampledWholeRow ? fmt::format("tg{} whole row", a.tg)
                             : depth                    ? fmt::format("tg{} @ {}", a.tg, depth)
                                                        : fmt::format("tg{}", a.tg);
    fmt::print("| {:<14} | {:>12.1f} | {:>10.3f} | {:>11.3e} | {:>8.1f} | {:>7.1f}% |\n", name, 1.0 / t, t * 1e3,
               bytes, gbs, 100.0 * gbs / copy_gbs);
  }
  if (!sp.greedy())
    fmt::print("\nsampled rows: temperature {}, top-k {}, top-p {}, min-p {}; \"whole row\" copies the logits to the "
               "host and draws there\n",
               sp.temperature, sp.top_k, sp.top_p, sp.min_p);
  fmt::print("\nmedian of {} runs after one warm-up; decode bytes = all weights (tied lm head read in full) + "
             "KV cache rows read\n",
             a.reps);
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto a = std::make_shared<BenchArgs>();
  auto* cmd = app.add_subcommand("bench", "Measure prefill and decode speed (tok/s, GB/s, % of copy bandwidth)");
  cmd->add_option("--shape", a->shape, "synthesize random bf16 weights of this model's shape: " +
                                           [] {
                                             std::string s;
                                             for (const auto& n : known_shapes()) s += (s.empty() ? "" : ", ") + n;
                                             return s;
                                           }());
  cmd->add_option("-m,--model", a->model, "or a model folder");
  cmd->add_option("-p", a->pp, "prompt tokens for the pp test (default 512)");
  cmd->add_option("-n", a->tg, "generated tokens for the tg test (default 128)");
  cmd->add_option("-r,--reps", a->reps, "repetitions (the median is reported; default 5)");
  cmd->add_option("--depth", a->depths, "also time decode after this many context tokens (repeatable)");
  add_device_flags(cmd, a->dev);
  add_sampling_flags(cmd, a->sampling);
  cmd->callback([a] { bench(*a); });
}

}  // namespace fs::cli
