// config.json parsing for each supported architecture, RoPE frequencies (with llama3 scaling), and errors.
#include <gtest/gtest.h>

#include <cmath>

#include "model/config.h"
#include "util/error.h"

namespace fs {
namespace {

const char* kQwen3 = R"({"architectures":["Qwen3ForCausalLM"],"model_type":"qwen3","vocab_size":151936,
  "hidden_size":1024,"intermediate_size":3072,"num_hidden_layers":28,"num_attention_heads":16,
  "num_key_value_heads":8,"head_dim":128,"max_position_embeddings":40960,"rms_norm_eps":1e-6,
  "rope_theta":1000000,"tie_word_embeddings":true,"eos_token_id":151645,"bos_token_id":151643})";

TEST(Config, Qwen3HasQkNormAndExplicitHeadDim) {
  auto c = parse_config(kQwen3);
  EXPECT_TRUE(c.qk_norm);
  EXPECT_FALSE(c.qkv_bias);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.q_dim(), 2048);  // ≠ hidden_size
  EXPECT_EQ(c.kv_dim(), 1024);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.eos_token_ids, std::vector<int>{151645});
}

TEST(Config, Qwen2HasQkvBiasAndDerivedHeadDim) {
  auto c = parse_config(R"({"architectures":["Qwen2ForCausalLM"],"vocab_size":100,"hidden_size":896,
    "intermediate_size":4864,"num_hidden_layers":2,"num_attention_heads":14,"num_key_value_heads":2,
    "max_position_embeddings":32768})");
  EXPECT_TRUE(c.qkv_bias);
  EXPECT_FALSE(c.o_bias);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_FALSE(c.tie_word_embeddings);
}

TEST(Config, MistralSlidingWindowCapsTheContext) {
  auto c = parse_config(R"({"architectures":["MistralForCausalLM"],"vocab_size":100,"hidden_size":64,
    "intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":1,
    "max_position_embeddings":32768,"sliding_window":4096})");
  EXPECT_EQ(c.max_position_embeddings, 4096);
  EXPECT_EQ(c.n_kv_heads, 1);
}

TEST(Config, Llama3RopeScalingMatchesTheFormula) {
  auto c = parse_config(R"({"architectures":["LlamaForCausalLM"],"vocab_size":128256,"hidden_size":2048,
    "intermediate_size":8192,"num_hidden_layers":16,"num_attention_heads":32,"num_key_value_heads":8,
    "max_position_embeddings":131072,"rope_theta":500000.0,"rope_scaling":{"factor":32.0,"high_freq_factor":4.0,
    "low_freq_factor":1.0,"original_max_position_embeddings":8192,"rope_type":"llama3"}})");
  ASSERT_EQ(c.rope_scaling.type, "llama3");
  const auto inv = rope_inv_freq(c);
  ASSERT_EQ(inv.size(), 32u);
  // Highest frequency (j = 0): wavelength 2π < 8192/4, untouched.
  EXPECT_FLOAT_EQ(inv[0], 1.0f);
  // Lowest frequency: wavelength far above 8192, divided by the factor.
  const float base_last = 1.0f / std::pow(500000.0f, 62.0f / 64.0f);
  EXPECT_NEAR(inv[31], base_last / 32.0f, 1e-12);
  // Every scaled frequency lies between base/factor and base.
  for (int j = 0; j < 32; ++j) {
    const float base = 1.0f / std::pow(500000.0f, float(2 * j) / 64.0f);
    EXPECT_LE(inv[j], base * 1.000001f);
    EXPECT_GE(inv[j], base / 32.0f * 0.999999f);
  }
}

TEST(Config, Transformers5RopeParametersAreRead) {
  auto c = parse_config(R"({"architectures":["LlamaForCausalLM"],"vocab_size":10,"hidden_size":64,
    "intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4,"max_position_embeddings":256,
    "rope_parameters":{"rope_theta":500000.0,"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,
    "high_freq_factor":4.0,"original_max_position_embeddings":64}})");
  EXPECT_EQ(c.rope_theta, 500000.0);
  EXPECT_EQ(c.rope_scaling.type, "llama3");
  EXPECT_EQ(c.rope_scaling.original_max_position, 64);
  auto d = parse_config(R"({"architectures":["Qwen3ForCausalLM"],"vocab_size":10,"hidden_size":64,
    "intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4,"max_position_embeddings":256,
    "rope_parameters":{"rope_theta":1000000.0,"rope_type":"default"}})");
  EXPECT_EQ(d.rope_theta, 1000000.0);
  EXPECT_TRUE(d.rope_scaling.type.empty());
}

TEST(Config, ErrorsNameTheKey) {
  auto error_of = [](const std::string& text) -> std::string {
    try {
      parse_config(text);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(error_of(R"({"architectures":["GPT2LMHeadModel"]})").find("not supported"), std::string::npos);
  EXPECT_NE(error_of(R"({"vocab_size":3})").find("architectures"), std::string::npos);
  EXPECT_NE(error_of(R"({"architectures":["LlamaForCausalLM"],"vocab_size":3})").find("\"hidden_size\" is missing"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"architectures":["LlamaForCausalLM"],"vocab_size":"x"})").find("\"vocab_size\" must be an integer"),
            std::string::npos);
  EXPECT_NE(error_of("{oops").find("not valid JSON"), std::string::npos);
  std::string llama = R"({"architectures":["LlamaForCausalLM"],"vocab_size":10,"hidden_size":64,
    "intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":3,
    "max_position_embeddings":64})";
  EXPECT_NE(error_of(llama).find("num_key_value_heads"), std::string::npos);
  std::string rope = R"({"architectures":["LlamaForCausalLM"],"vocab_size":10,"hidden_size":64,
    "intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4,"max_position_embeddings":64,
    "rope_scaling":{"rope_type":"yarn","factor":4}})";
  EXPECT_NE(error_of(rope).find("\"yarn\" is not supported"), std::string::npos);
}

}  // namespace
}  // namespace fs
