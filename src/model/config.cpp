#include "model/config.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "util/error.h"

namespace fs {

using nlohmann::json;

namespace {

struct Reader {
  const json& j;
  const std::string& where;

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw Error(where + ": \"" + key + "\" " + what);
  }
  int get_int(const std::string& key, int lo = 1) const {
    if (!j.contains(key) || j[key].is_null()) fail(key, "is missing");
    if (!j[key].is_number_integer()) fail(key, "must be an integer");
    const long long v = j[key].get<long long>();
    if (v < lo || v > (1LL << 31) - 1) fail(key, "is " + std::to_string(v) + ", out of range");
    return int(v);
  }
  int get_int_or(const std::string& key, int dflt) const {
    return j.contains(key) && !j[key].is_null() ? get_int(key, 1) : dflt;
  }
  double get_num_or(const std::string& key, double dflt) const {
    if (!j.contains(key) || j[key].is_null()) return dflt;
    if (!j[key].is_number()) fail(key, "must be a number");
    return j[key].get<double>();
  }
  bool get_bool_or(const std::string& key, bool dflt) const {
    if (!j.contains(key) || j[key].is_null()) return dflt;
    if (!j[key].is_boolean()) fail(key, "must be true or false");
    return j[key].get<bool>();
  }
};

std::vector<int> token_ids(const json& v, const std::string& where, const std::string& key) {
  std::vector<int> ids;
  if (v.is_null()) return ids;
  if (v.is_number_integer()) return {v.get<int>()};
  if (v.is_array()) {
    for (const auto& x : v) {
      if (!x.is_number_integer()) throw Error(where + ": \"" + key + "\" must hold integers");
      ids.push_back(x.get<int>());
    }
    return ids;
  }
  throw Error(where + ": \"" + key + "\" must be an integer or a list of integers");
}

}  // namespace

ModelConfig parse_config(const std::string& text, const std::string& where) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(where + ": not valid JSON: " + e.what());
  }
  if (!j.is_object()) throw Error(where + ": must be a JSON object");
  Reader r{j, where};
  ModelConfig c;
  if (!j.contains("architectures") || !j["architectures"].is_array() || j["architectures"].empty() ||
      !j["architectures"][0].is_string())
    throw Error(where + ": \"architectures\" is missing (expected e.g. [\"LlamaForCausalLM\"])");
  c.architecture = j["architectures"][0];
  c.model_type = j.value("model_type", "");
  const bool llama = c.architecture == "LlamaForCausalLM", mistral = c.architecture == "MistralForCausalLM",
             qwen2 = c.architecture == "Qwen2ForCausalLM", qwen3 = c.architecture == "Qwen3ForCausalLM";
  if (!(llama || mistral || qwen2 || qwen3))
    throw Error(where + ": architecture \"" + c.architecture +
                "\" is not supported (supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, "
                "Qwen3ForCausalLM)");

  c.vocab_size = r.get_int("vocab_size");
  c.hidden_size = r.get_int("hidden_size");
  c.intermediate_size = r.get_int("intermediate_size");
  c.n_layers = r.get_int("num_hidden_layers");
  c.n_heads = r.get_int("num_attention_heads");
  c.n_kv_heads = r.get_int_or("num_key_value_heads", c.n_heads);
  c.head_dim = r.get_int_or("head_dim", 0);
  if (c.head_dim == 0) {
    if (c.hidden_size % c.n_heads) r.fail("hidden_size", "is not a multiple of num_attention_heads and no head_dim is given");
    c.head_dim = c.hidden_size / c.n_heads;
  }
  if (c.head_dim % 2) r.fail("head_dim", "must be even for RoPE");
  if (c.n_heads % c.n_kv_heads) r.fail("num_key_value_heads", "must divide num_attention_heads");
  c.max_position_embeddings = r.get_int("max_position_embeddings");
  c.rms_norm_eps = float(r.get_num_or("rms_norm_eps", 1e-6));
  if (!(c.rms_norm_eps > 0)) r.fail("rms_norm_eps", "must be positive");
  // RoPE settings come in two spellings: "rope_theta" + "rope_scaling" (transformers 4.x), or one
  // "rope_parameters" object holding rope_theta, rope_type and the scaling fields (transformers 5).
  const bool v5 = j.contains("rope_parameters") && j["rope_parameters"].is_object();
  const json& rope = v5 ? j["rope_parameters"] : j;
  const std::string rope_key = v5 ? "rope_parameters" : "rope_scaling";
  c.rope_theta = Reader{rope, where}.get_num_or("rope_theta", 10000.0);
  if (!(c.rope_theta > 0)) r.fail("rope_theta", "must be positive");
  c.tie_word_embeddings = r.get_bool_or("tie_word_embeddings", false);
  const bool attention_bias = r.get_bool_or("attention_bias", false);
  c.qkv_bias = qwen2 || attention_bias;
  c.o_bias = (llama || mistral) && attention_bias;
  c.qk_norm = qwen3;
  if (r.get_bool_or("mlp_bias", false)) r.fail("mlp_bias", "true is not supported");
  const std::string act = j.value("hidden_act", "silu");
  if (act != "silu") r.fail("hidden_act", "is \"" + act + "\"; only \"silu\" (SwiGLU) is supported");

  if (j.contains(rope_key) && !j[rope_key].is_null()) {
    const json& s = j[rope_key];
    if (!s.is_object()) r.fail(rope_key, "must be an object or null");
    const std::string type = s.value("rope_type", s.value("type", std::string("default")));
    if (type == "llama3") {
      Reader rs{s, where};
      c.rope_scaling.type = "llama3";
      c.rope_scaling.factor = rs.get_num_or("factor", 8.0);
      c.rope_scaling.low_freq_factor = rs.get_num_or("low_freq_factor", 1.0);
      c.rope_scaling.high_freq_factor = rs.get_num_or("high_freq_factor", 4.0);
      c.rope_scaling.original_max_position = rs.get_int("original_max_position_embeddings");
      if (!(c.rope_scaling.high_freq_factor > c.rope_scaling.low_freq_factor))
        rs.fail("high_freq_factor", "must be larger than low_freq_factor");
    } else if (type != "default") {
      r.fail(rope_key, "type \"" + type + "\" is not supported (only \"llama3\")");
    }
  }
  if (mistral && j.contains("sliding_window") && !j["sliding_window"].is_null()) {
    // A sliding window only changes attention beyond its length; we cap the context there instead of masking.
    const int w = r.get_int("sliding_window");
    if (w < c.max_position_embeddings) c.max_position_embeddings = w;
  }
  if (j.contains("bos_token_id")) {
    auto b = token_ids(j["bos_token_id"], where, "bos_token_id");
    if (!b.empty()) c.bos_token_id = b[0];
  }
  if (j.contains("eos_token_id")) c.eos_token_ids = token_ids(j["eos_token_id"], where, "eos_token_id");
  return c;
}

ModelConfig load_config(const std::string& dir) {
  const auto path = (std::filesystem::path(dir) / "config.json").string();
  std::ifstream f(path);
  if (!f) throw Error(path + ": cannot open");
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_config(ss.str(), path);
}

std::vector<float> rope_inv_freq(const ModelConfig& c) {
  const int half = c.head_dim / 2;
  std::vector<float> inv(half);
  for (int j = 0; j < half; ++j) {
    // As Hugging Face computes it: 1 / theta^(arange(0, dim, 2) / dim), in f32.
    const float exponent = float(2 * j) / float(c.head_dim);
    inv[j] = 1.0f / std::pow(float(c.rope_theta), exponent);
  }
  if (c.rope_scaling.type == "llama3") {
    const auto& s = c.rope_scaling;
    const double low_wavelen = s.original_max_position / s.low_freq_factor;
    const double high_wavelen = s.original_max_position / s.high_freq_factor;
    for (int j = 0; j < half; ++j) {
      const double wavelen = 2 * M_PI / inv[j];
      if (wavelen > low_wavelen) {
        inv[j] = float(inv[j] / s.factor);
      } else if (wavelen >= high_wavelen) {
        const double smooth = (s.original_max_position / wavelen - s.low_freq_factor) /
                              (s.high_freq_factor - s.low_freq_factor);
        inv[j] = float((1 - smooth) * inv[j] / s.factor + smooth * inv[j]);
      }
    }
  }
  return inv;
}

}  // namespace fs
