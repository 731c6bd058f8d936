#include "engine/generation_config.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "util/error.h"

namespace fs {

using nlohmann::json;

void check_model_dir(const std::string& dir) {
  namespace stdfs = std::filesystem;
  const char* what =
      "A model folder (as downloaded from Hugging Face) holds config.json, model.safetensors (or "
      "model.safetensors.index.json and its shards), tokenizer.json, and optionally tokenizer_config.json "
      "(the chat template) and generation_config.json.";
  if (!stdfs::exists(dir)) throw Error(dir + ": no such folder. " + what);
  if (!stdfs::is_directory(dir)) throw Error(dir + ": not a folder. " + what);
  std::vector<std::string> missing;
  if (!stdfs::exists(stdfs::path(dir) / "config.json")) missing.push_back("config.json");
  if (!stdfs::exists(stdfs::path(dir) / "model.safetensors") &&
      !stdfs::exists(stdfs::path(dir) / "model.safetensors.index.json"))
    missing.push_back("model.safetensors");
  if (!missing.empty()) {
    std::string m;
    for (const auto& x : missing) m += (m.empty() ? "" : " and ") + x;
    throw Error(dir + ": not a model folder (missing " + m + "). " + what);
  }
}

GenerationConfig load_generation_config(const std::string& dir, const ModelConfig& cfg) {
  GenerationConfig g;
  g.eos_ids.assign(cfg.eos_token_ids.begin(), cfg.eos_token_ids.end());
  g.bos_id = cfg.bos_token_id;
  const auto path = (std::filesystem::path(dir) / "generation_config.json").string();
  std::ifstream f(path);
  if (!f) return g;
  json j;
  try {
    j = json::parse(f);
  } catch (const json::exception& e) {
    throw Error(path + ": not valid JSON: " + e.what());
  }
  if (!j.is_object()) throw Error(path + ": must be a JSON object");
  auto ids = [&](const char* key) {
    std::vector<int32_t> out;
    const json& v = j[key];
    if (v.is_number_integer()) out.push_back(v.get<int32_t>());
    else if (v.is_array())
      for (const auto& x : v) {
        if (!x.is_number_integer()) throw Error(path + ": \"" + key + "\" must hold integers");
        out.push_back(x.get<int32_t>());
      }
    else if (!v.is_null()) throw Error(path + ": \"" + key + "\" must be an integer or a list of integers");
    return out;
  };
  if (j.contains("eos_token_id")) {
    auto e = ids("eos_token_id");
    if (!e.empty()) g.eos_ids = e;
  }
  if (j.contains("bos_token_id")) {
    auto b = ids("bos_token_id");
    if (!b.empty()) g.bos_id = b[0];
  }
  auto num = [&](const char* key, double dflt) {
    if (!j.contains(key) || j[key].is_null()) return dflt;
    if (!j[key].is_number()) throw Error(path + ": \"" + key + "\" must be a number");
    return j[key].get<double>();
  };
  if (j.value("do_sample", false)) {
    g.sampling.temperature = float(num("temperature", 1.0));
    g.sampling.top_k = int(num("top_k", 50));
    g.sampling.top_p = float(num("top_p", 1.0));
    g.sampling.min_p = float(num("min_p", 0.0));
  }
  g.sampling.repetition_penalty = float(num("repetition_penalty", 1.0));
  return g;
}

}  // namespace fs
