// The scriptable interfaces the golden tests use:
//   fs logits   --model DIR --ids "1,2,3" --out FILE    f32 logits of every position, [n_ids, vocab], little-endian
//   fs generate --model DIR --ids "1,2,3" -n N [sampling flags] --print-ids
#include <cstdio>
#include <fstream>
#include <iostream>

#include "cli/options.h"
#include "engine/generate.h"
#include "engine/generation_config.h"
#include "util/error.h"

namespace fs::cli {

namespace {

struct LogitsArgs {
  std::string model, ids, out;
  DeviceOptions dev;
};

void run_logits(const LogitsArgs& a) {
  const auto ids = parse_ids(a.ids, "--ids");
  auto be = open_backend(a.dev);
  auto model = load_model(a.model, *be, a.dev);
  model->forward(ids.data(), int(ids.size()), /*all_logits=*/true);
  const auto logits = model->logits();
  std::ofstream f(a.out, std::ios::binary);
  if (!f) throw Error(a.out + ": cannot write");
  f.write(reinterpret_cast<const char*>(logits.data()), std::streamsize(logits.size() * sizeof(float)));
  if (!f) throw Error(a.out + ": write failed");
  std::fprintf(stderr, "wrote %zu × %d f32 logits to %s\n", ids.size(), model->config().vocab_size, a.out.c_str());
}

struct GenerateArgs {
  std::string model, ids;
  int n = 16;
  bool print_ids = false, ignore_eos = false;
  SamplingFlags sampling;
  DeviceOptions dev;
};

void run_generate(const GenerateArgs& a) {
  const auto ids = parse_ids(a.ids, "--ids");
  if (a.n < 1) throw Error("-n must be at least 1");
  auto be = open_backend(a.dev);
  auto model = load_model(a.model, *be, a.dev);
  const auto gen = load_generation_config(a.model, model->config());
  GenerateOptions opt;
  opt.max_new_tokens = a.n;
  opt.sampling = a.sampling.apply(gen.sampling);
  if (!a.ignore_eos) opt.stop_ids = gen.eos_ids;
  std::vector<int32_t> out;
  const auto st = generate(*model, ids, opt, [&](int32_t t) {
    out.push_back(t);
    return true;
  });
  if (a.print_ids) {
    for (size_t i = 0; i < out.size(); ++i) std::printf("%s%d", i ? "," : "", out[i]);
    std::printf("\n");
  }
  std::fprintf(stderr, "%d prompt tokens, %d generated, decode %.1f tok/s\n", st.prompt_tokens, st.generated,
               st.generated > 1 ? (st.generated - 1) / st.decode_seconds : 0.0);
}

}  // namespace

void add_logits_commands(CLI::App& app) {
  auto la = std::make_shared<LogitsArgs>();
  auto* lc = app.add_subcommand("logits", "Write the logits of every position as little-endian f32 [n_ids, vocab]");
  lc->add_option("-m,--model", la->model, "model folder")->required();
  lc->add_option("--ids", la->ids, "token ids, e.g. \"1,2,3\"")->required();
  lc->add_option("-o,--out", la->out, "output file")->required();
  add_device_flags(lc, la->dev);
  lc->callback([la] { run_logits(*la); });

  auto ga = std::make_shared<GenerateArgs>();
  auto* gc = app.add_subcommand("generate", "Continue a list of token ids");
  gc->add_option("-m,--model", ga->model, "model folder")->required();
  gc->add_option("--ids", ga->ids, "prompt token ids, e.g. \"1,2,3\"")->required();
  gc->add_option("-n", ga->n, "tokens to generate");
  gc->add_flag("--print-ids", ga->print_ids, "print the generated ids, comma-separated, on stdout");
  gc->add_flag("--ignore-eos", ga->ignore_eos, "do not stop at the EOS ids");
  add_sampling_flags(gc, ga->sampling);
  add_device_flags(gc, ga->dev);
  gc->callback([ga] { run_generate(*ga); });
}

}  // namespace fs::cli
