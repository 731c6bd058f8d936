#include "cli/options.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <sstream>

#include "util/error.h"

namespace fs::cli {

void add_device_flags(CLI::App* cmd, DeviceOptions& d) {
  cmd->add_option("--device", d.device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  cmd->add_option("-t,--threads", d.threads, "CPU threads (0 = one per core)");
  cmd->add_option("-c,--ctx", d.ctx, "context size in tokens (KV cache rows)");
}

std::unique_ptr<Backend> open_backend(const DeviceOptions& d) {
  if (d.device == "cuda") {
#ifdef FS_HAVE_CUDA
    return make_cuda_backend();
#else
    throw Error("--device cuda: this build has no CUDA backend (nvcc was not found when it was configured)");
#endif
  }
  return make_cpu_backend(d.threads);
}

void add_sampling_flags(CLI::App* cmd, SamplingFlags& s) {
  cmd->add_option("--temp", s.temp, "temperature; 0 = greedy");
  cmd->add_option("--top-k", s.top_k, "keep the k most likely tokens (0 = off)");
  cmd->add_option("--top-p", s.top_p, "nucleus sampling mass (1 = off)");
  cmd->add_option("--min-p", s.min_p, "drop tokens below min-p × the top probability (0 = off)");
  cmd->add_option("--repeat-penalty", s.repeat_penalty, "repetition penalty (1 = off)");
  cmd->add_option("--seed", s.seed, "random seed (runs with the same seed are identical)");
}

SamplingParams SamplingFlags::apply(SamplingParams p) const {
  if (temp) p.temperature = *temp;
  if (top_k) p.top_k = *top_k;
  if (top_p) p.top_p = *top_p;
  if (min_p) p.min_p = *min_p;
  if (repeat_penalty) p.repetition_penalty = *repeat_penalty;
  if (seed) p.seed = *seed;
  validate(p);
  return p;
}

std::vector<int32_t> parse_ids(const std::string& text, const std::string& flag) {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ',' || text[i] == ' ' || text[i] == '\n' || text[i] == '\t' ||
                               text[i] == '[' || text[i] == ']'))
      ++i;
    if (i == text.size()) break;
    size_t j = i;
    if (text[j] == '-') ++j;
    while (j < text.size() && text[j] >= '0' && text[j] <= '9') ++j;
    const std::string tok = text.substr(i, j - i);
    if (tok.empty() || tok == "-" || (j < text.size() && text[j] != ',' && text[j] != ' ' && text[j] != '\n' &&
                                      text[j] != '\t' && text[j] != ']'))
      throw Error(flag + ": \"" + text + "\" is not a list of token ids (expected e.g. \"1,2,3\")");
    if (tok.size() > 10) throw Error(flag + ": token id " + tok + " is out of range");
    const long long v = std::stoll(tok);
    if (v < 0 || v > INT32_MAX) throw Error(flag + ": token id " + tok + " is out of range");
    ids.push_back(int32_t(v));
    i = j;
  }
  if (ids.empty()) throw Error(flag + ": no token ids given");
  return ids;
}

std::unique_ptr<Model> load_model(const std::string& dir, Backend& be, const DeviceOptions& d) {
  ModelOptions opt;
  opt.max_context = d.ctx;
  const bool tty = isatty(fileno(stderr));
  const auto start = std::chrono::steady_clock::now();
  int last = -1;
  opt.progress = [&](size_t done, size_t total) {
    // Draw only on a terminal, and only once loading has taken long enough to be worth watching.
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!tty || total == 0 || (s < 0.5 && done < total)) return;
    const int pct = int(100.0 * double(done) / double(total));
    if (pct == last) return;
    last = pct;
    const int width = 30, fill = pct * width / 100;
    std::fprintf(stderr, "\rloading [%.*s%*s] %3d%%  %.2f / %.2f GB", fill, "##############################",
                 width - fill, "", pct, double(done) / 1e9, double(total) / 1e9);
    if (done == total) std::fputc('\n', stderr);
  };
  return Model::load(dir, be, opt);
}

Session open_session(const std::string& dir, const SamplingFlags& sampling, const DeviceOptions& d) {
  sampling.apply({});
  const auto t0 = std::chrono::steady_clock::now();
  check_model_dir(dir);
  Session s{nullptr, nullptr, Tokenizer::load(dir), {}, 0};
  s.be = open_backend(d);
  s.model = load_model(dir, *s.be, d);
  s.gen = load_generation_config(dir, s.model->config());
  s.load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return s;
}

}  // namespace fs::cli
