#include "runtime/vlm_proto_convert.h"

#include "core/utf8.h"

namespace mosdat {

v1::Image ToProto(const VlmImage& image) {
  v1::Image out;
  out.set_png(image.png);
  out.set_width(image.width);
  out.set_height(image.height);
  return out;
}

VlmImage FromProto(const v1::Image& image) {
  return VlmImage{.png = image.png(), .width = image.width(), .height = image.height()};
}

v1::LocalizeRequest ToProto(const LocalizeRequest& request) {
  v1::LocalizeRequest out;
  *out.mutable_image() = ToProto(request.image);
  out.set_prompt(request.prompt);
  out.set_model(request.model);
  out.set_bypass_cache(request.bypass_cache);
  return out;
}

LocalizeRequest FromProto(const v1::LocalizeRequest& request) {
  return LocalizeRequest{.image = FromProto(request.image()),
                         .prompt = request.prompt(),
                         .model = request.model(),
                         .bypass_cache = request.bypass_cache()};
}

v1::LocalizeResponse ToProto(const LocalizeResult& result) {
  v1::LocalizeResponse out;
  out.set_found(result.found);
  out.mutable_point()->set_x(result.x);
  out.mutable_point()->set_y(result.y);
  out.set_confidence(result.confidence);
  out.set_model(result.model);
  out.set_cache_hit(result.cache_hit);
  out.set_raw_answer(ValidUtf8(result.raw_answer));  // a model may answer anything
  out.set_endpoint(result.endpoint);
  out.set_coordinates(std::string(ToString(result.coordinates)));
  out.set_model_x(result.model_x);
  out.set_model_y(result.model_y);
  return out;
}

LocalizeResult FromProto(const v1::LocalizeResponse& response) {
  LocalizeResult out;
  out.found = response.found();
  out.x = response.point().x();
  out.y = response.point().y();
  out.confidence = response.confidence();
  out.model = response.model();
  out.cache_hit = response.cache_hit();
  out.raw_answer = response.raw_answer();
  out.endpoint = response.endpoint();
  out.coordinates = response.coordinates() == "pixels" ? VlmCoordinates::kPixels
                                                       : VlmCoordinates::kNormalized1000;
  out.model_x = response.model_x();
  out.model_y = response.model_y();
  return out;
}

v1::VerifyRequest ToProto(const VerifyRequest& request) {
  v1::VerifyRequest out;
  *out.mutable_image() = ToProto(request.image);
  out.set_question(request.question);
  out.set_model(request.model);
  out.set_bypass_cache(request.bypass_cache);
  return out;
}

VerifyRequest FromProto(const v1::VerifyRequest& request) {
  return VerifyRequest{.image = FromProto(request.image()),
                       .question = request.question(),
                       .model = request.model(),
                       .bypass_cache = request.bypass_cache()};
}

v1::VerifyResponse ToProto(const VerifyResult& result) {
  v1::VerifyResponse out;
  out.set_answer(result.answer);
  out.set_reason(ValidUtf8(result.reason));
  out.set_model(result.model);
  out.set_cache_hit(result.cache_hit);
  out.set_raw_answer(ValidUtf8(result.raw_answer));
  out.set_endpoint(result.endpoint);
  return out;
}

VerifyResult FromProto(const v1::VerifyResponse& response) {
  return VerifyResult{.answer = response.answer(),
                      .reason = response.reason(),
                      .model = response.model(),
                      .cache_hit = response.cache_hit(),
                      .raw_answer = response.raw_answer(),
                      .endpoint = response.endpoint()};
}

}  // namespace mosdat
