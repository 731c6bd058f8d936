#include "tiny_model.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <cmath>
#include <random>

#include "model/config.h"
#include "model/safetensors.h"
#include "model/weights.h"

namespace fs::test {

std::string write_tiny_model(const std::string& arch, int max_position) {
  namespace stdfs = std::filesystem;
  const auto dir = (stdfs::temp_directory_path() / ("fs_tiny_" + arch + "_" + std::to_string(::getpid()))).string();
  stdfs::create_directories(dir);
  std::string archname = arch == "qwen3" ? "Qwen3ForCausalLM" : arch == "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM";
  std::string cfg = R"({"architectures":[")" + archname + R"("],"vocab_size":97,"hidden_size":32,
    "intermediate_size":48,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,)" +
                    std::string(arch == "qwen3" ? R"("head_dim":16,)" : "") +
                    R"("max_position_embeddings":)" + std::to_string(max_position) +
                    R"(,"rms_norm_eps":1e-5,"rope_theta":10000,"tie_word_embeddings":)" +
                    (arch == "llama" ? "false" : "true") + R"(,"eos_token_id":3})";
  std::ofstream(dir + "/config.json") << cfg;
  const ModelConfig c = parse_config(cfg);
  std::mt19937 rng(42);
  std::map<std::string, TensorToWrite> tensors;
  for (const auto& e : expected_tensors(c)) {
    int64_t n = 1;
    for (auto d : e.shape) n *= d;
    const bool vec = e.shape.size() == 1;
    std::normal_distribution<float> dist(vec && e.name.find("norm") != std::string::npos ? 1.0f : 0.0f,
                                         vec ? 0.2f : 1.0f / std::sqrt(float(e.shape.back())));
    TensorToWrite t{DType::BF16, e.shape, {}};
    for (int64_t i = 0; i < n; ++i) {
      const uint16_t h = f32_to_bf16(dist(rng));
      t.bytes.push_back(uint8_t(h & 0xff));
      t.bytes.push_back(uint8_t(h >> 8));
    }
    tensors[e.name] = std::move(t);
  }
  write_safetensors(dir + "/model.safetensors", tensors);
  return dir;
}

}  // namespace fs::test
