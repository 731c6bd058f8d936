// Post-processors add the special tokens a model expects around an encoded text (Llama 2's BOS "<s>" in front),
// and only when encode() is asked to (add_special_tokens). Supported: TemplateProcessing (its "single"
// template), BertProcessing and RobertaProcessing ([CLS] text [SEP]), ByteLevel (only trims offsets in Hugging
// Face, so nothing to do on ids), Sequence.
#include <string>
#include <vector>

#include "tokenizer/components.h"

namespace fs::tok {
namespace {

class Template : public PostProcessor {
 public:
  Template(const Json& j, const std::string& where) {
    const Json& single = field(j, "single", where);
    const Json& specials = j.contains("special_tokens") ? j["special_tokens"] : Json::object();
    if (!single.is_array()) fail(where, "TemplateProcessing \"single\" must be an array");
    for (const Json& piece : single) {
      if (piece.contains("Sequence")) {
        const std::string id = string_field(piece["Sequence"], "id", where);
        if (id != "A") fail(where, "TemplateProcessing \"single\" may only use sequence A, not " + id);
        items_.push_back({true, {}});
      } else if (piece.contains("SpecialToken")) {
        const std::string name = string_field(piece["SpecialToken"], "id", where);
        if (!specials.contains(name)) fail(where, "TemplateProcessing special token \"" + name + "\" is not defined");
        const Json& ids = field(specials[name], "ids", where);
        if (!ids.is_array()) fail(where, "TemplateProcessing special token \"" + name + "\": \"ids\" must be an array");
        Item item{false, {}};
        for (const Json& id : ids) {
          if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) {
            fail(where, "TemplateProcessing special token \"" + name + "\": bad id");
          }
          item.ids.push_back(id.get<int32_t>());
        }
        items_.push_back(std::move(item));
      } else {
        fail(where, "TemplateProcessing piece must be {\"Sequence\": ...} or {\"SpecialToken\": ...}");
      }
    }
  }
  void process(std::vector<int32_t>& ids, bool add_special_tokens) const override {
    if (!add_special_tokens) return;
    std::vector<int32_t> out;
    out.reserve(ids.size() + 4);
    for (const Item& item : items_) {
      if (item.is_sequence) {
        out.insert(out.end(), ids.begin(), ids.end());
      } else {
        out.insert(out.end(), item.ids.begin(), item.ids.end());
      }
    }
    ids.swap(out);
  }

 private:
  struct Item {
    bool is_sequence;
    std::vector<int32_t> ids;
  };
  std::vector<Item> items_;
};

// [CLS] A [SEP], the single-sequence form of BertProcessing and RobertaProcessing.
class ClsSep : public PostProcessor {
 public:
  ClsSep(const Json& j, const std::string& where) : cls_(token_id(j, "cls", where)), sep_(token_id(j, "sep", where)) {}
  void process(std::vector<int32_t>& ids, bool add_special_tokens) const override {
    if (!add_special_tokens) return;
    ids.insert(ids.begin(), cls_);
    ids.push_back(sep_);
  }

 private:
  static int32_t token_id(const Json& j, const char* key, const std::string& where) {
    const Json& v = field(j, key, where);  // ["[CLS]", 101]
    if (!v.is_array() || v.size() != 2 || !v[1].is_number_unsigned() || v[1].get<uint64_t>() > INT32_MAX) {
      fail(where, std::string("field \"") + key + "\" must be [token, id]");
    }
    return v[1].get<int32_t>();
  }
  int32_t cls_, sep_;
};

class Nothing : public PostProcessor {
 public:
  void process(std::vector<int32_t>&, bool) const override {}
};

class SequencePost : public PostProcessor {
 public:
  explicit SequencePost(std::vector<std::unique_ptr<PostProcessor>> steps) : steps_(std::move(steps)) {}
  void process(std::vector<int32_t>& ids, bool add_special_tokens) const override {
    for (const auto& step : steps_) step->process(ids, add_special_tokens);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> steps_;
};

}  // namespace

std::unique_ptr<PostProcessor> make_post_processor(const Json& j, const std::string& where) {
  const std::string type = type_of(j, where);
  if (type == "TemplateProcessing") return std::make_unique<Template>(j, where);
  if (type == "BertProcessing" || type == "RobertaProcessing") return std::make_unique<ClsSep>(j, where);
  if (type == "ByteLevel") return std::make_unique<Nothing>();
  if (type == "Sequence") {
    const Json& list = field(j, "processors", where);
    if (!list.is_array()) fail(where, "field \"processors\" must be an array");
    std::vector<std::unique_ptr<PostProcessor>> steps;
    for (const Json& item : list) steps.push_back(make_post_processor(item, where));
    return std::make_unique<SequencePost>(std::move(steps));
  }
  fail_unsupported(where, type);
}

}  // namespace fs::tok
