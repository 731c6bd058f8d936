// A model's chat template: the Jinja program in tokenizer_config.json that turns a list of messages into the one
// prompt string the model was trained on, e.g. for Qwen3
//
//   [{"role":"user","content":"Hi"}]  →  "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
//
// Rendered by our own Jinja interpreter (jinja_*.h), byte-identical to Hugging Face's
// tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=...). See docs/chat-templates.md.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace fs {
namespace jinja {
class Template;
}

class ChatTemplate {
 public:
  // Reads "chat_template" (a string, or the list-of-{name,template} form: "default" is taken), "bos_token" and
  // "eos_token" (each a string or an AddedToken object {"content": ...}) from DIR/tokenizer_config.json; newer
  // exports keep the template in DIR/chat_template.jinja, which is used when the config has none. Throws fs::Error
  // if there is no template, or it does not parse.
  static ChatTemplate from_model_dir(const std::string& dir);
  // Parses the template now, so a syntax error or an unsupported construct is reported at load.
  // An empty bos/eos token means "not set": the template sees it as undefined, as HF leaves it out.
  ChatTemplate(std::string source, std::string bos_token, std::string eos_token);

  // messages: JSON array of {"role","content",...}; extra: more variables (e.g. {"enable_thinking": false},
  // "tools", "date_string"), which override the defaults. The template sees: messages, add_generation_prompt,
  // tools (None unless given), documents (None), bos_token, eos_token, and the extra variables.
  std::string render(const nlohmann::json& messages, bool add_generation_prompt,
                     const nlohmann::json& extra = nlohmann::json::object()) const;
  // The same with ordered JSON, which keeps each object's key order, as the Python dicts HF renders do: it shows
  // where a template prints a whole object (`tool | tojson`). nlohmann::json sorts keys alphabetically.
  std::string render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                     const nlohmann::ordered_json& extra = nlohmann::ordered_json::object()) const;

  const std::string& source() const { return source_; }
  const std::string& bos_token() const { return bos_token_; }
  const std::string& eos_token() const { return eos_token_; }

 private:
  std::string source_, bos_token_, eos_token_;
  std::shared_ptr<const jinja::Template> template_;  // shared: copies of a ChatTemplate share one parse
};

}  // namespace fs
