// A tiny random model written to a temporary folder (config.json + model.safetensors), for tests that need a
// model on disk but no Hugging Face reference.
#pragma once
#include <string>

namespace fs::test {

// arch: "qwen3" (QK-norm, head_dim ≠ hidden/heads), "qwen2" (q/k/v bias) or "llama" (untied, GQA 2:1).
// Returns the folder.
std::string write_tiny_model(const std::string& arch, int max_position = 64);

}  // namespace fs::test
