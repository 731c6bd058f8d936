// fs inspect --model DIR: what the model is, every tensor it should have with its shape, and a verdict.
#include <fmt/core.h>

#include <map>

#include "cli/options.h"
#include "engine/generation_config.h"
#include "model/weights.h"
#include "util/error.h"

namespace fs::cli {

namespace {

std::string human_bytes(double b) {
  const char* unit[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) b /= 1000, ++u;
  return fmt::format("{:.2f} {}", b, unit[u]);
}

int inspect(const std::string& dir) {
  check_model_dir(dir);
  const ModelConfig c = load_config(dir);
  const SafeTensorSet st = SafeTensorSet::open_dir(dir);
  const auto expected = expected_tensors(c);

  fmt::print("model      {}\n", dir);
  fmt::print("arch       {} ({}){}{}{}\n", c.architecture, c.model_type, c.qkv_bias ? ", q/k/v bias" : "",
             c.qk_norm ? ", QK-norm" : "", c.tie_word_embeddings ? ", tied embeddings" : "");
  fmt::print("files      {}\n", st.files().size());
  fmt::print("\nlegend\n");
  fmt::print("  V  vocab size          {:>8}\n", c.vocab_size);
  fmt::print("  H  hidden size         {:>8}\n", c.hidden_size);
  fmt::print("  I  intermediate size   {:>8}   (SwiGLU MLP width)\n", c.intermediate_size);
  fmt::print("  L  layers              {:>8}\n", c.n_layers);
  fmt::print("  Nq query heads         {:>8}\n", c.n_heads);
  fmt::print("  Nkv key/value heads    {:>8}   ({} query heads share each kv head)\n", c.n_kv_heads,
             c.n_heads / c.n_kv_heads);
  fmt::print("  D  head dim            {:>8}   (Nq·D = {}{} H)\n", c.head_dim, c.q_dim(),
             c.q_dim() == c.hidden_size ? " =" : " ≠");
  fmt::print("     context             {:>8}\n", c.max_position_embeddings);
  fmt::print("     rope theta          {:>8}{}\n", c.rope_theta,
             c.rope_scaling.type.empty() ? "" : fmt::format("   (llama3 scaling ×{})", c.rope_scaling.factor));
  fmt::print("     rms_norm_eps        {:>8}\n", c.rms_norm_eps);

  size_t params = 0;
  std::map<std::string, size_t> by_dtype;
  for (const auto& [_, t] : st.all()) {
    params += size_t(t.numel());
    by_dtype[dtype_name(t.dtype)] += t.nbytes;
  }
  fmt::print("\nparameters {:.3f} B ({})\n", double(params) / 1e9, params);
  for (const auto& [dt, bytes] : by_dtype) fmt::print("  {:<5} {}\n", dt, human_bytes(double(bytes)));

  fmt::print("\n{:<48} {:<6} {:<16} {}\n", "tensor", "dtype", "shape", "in → out");
  int problems = 0;
  std::map<std::string, bool> used;
  for (const auto& e : expected) {
    const TensorInfo* t = st.find(e.name);
    used[e.name] = true;
    std::string flow = e.shape.size() == 2 ? fmt::format("{} → {}", e.shape[1], e.shape[0]) : "(vector)";
    if (!t) {
      ++problems;
      fmt::print("{:<48} {:<6} {:<16} MISSING (expected {})\n", e.name, "-", "-", shape_str(e.shape));
    } else if (t->shape != e.shape) {
      ++problems;
      fmt::print("{:<48} {:<6} {:<16} WRONG SHAPE (expected {})\n", e.name, dtype_name(t->dtype),
                 shape_str(t->shape), shape_str(e.shape));
    } else {
      fmt::print("{:<48} {:<6} {:<16} {}\n", e.name, dtype_name(t->dtype), shape_str(t->shape), flow);
    }
  }
  int unused = 0;
  for (const auto& [name, _] : st.all())
    if (!used.count(name) && name.find("rotary_emb") == std::string::npos) {
      ++unused;
      fmt::print("{:<48} (not used by {})\n", name, c.architecture);
    }
  if (problems) {
    fmt::print("\nverdict: {} of {} expected tensors are missing or misshapen\n", problems, expected.size());
    return 2;
  }
  fmt::print("\nverdict: OK — all {} expected tensors present with the right shapes{}\n", expected.size(),
             unused ? fmt::format(" ({} extra tensors ignored)", unused) : "");
  return 0;
}

}  // namespace

void add_inspect_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("inspect", "Describe a model folder and check its tensors");
  auto dir = std::make_shared<std::string>();
  cmd->add_option("-m,--model", *dir, "model folder")->required();
  cmd->callback([dir] {
    const int rc = inspect(*dir);
    if (rc) throw CLI::RuntimeError(rc);
  });
}

}  // namespace fs::cli
