"""The capture template's on-device pieces (``templates/emotion/_capture.html``)."""

from django import template
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import format_html

from emotion import on_device

register = template.Library()


@register.simple_tag(takes_context=True)
def on_device_runtime(context: template.Context) -> str:
    """The runtime, model URLs and parameters of on-device analysis, as the capture root's data attributes.

    Rendered on product pages in browser mode only, the pages that load the runtime: it also
    marks the page so that its policy alone allows WebAssembly (``on_device.RuntimePageCsp``).
    """
    on_device.mark_runtime_page(context["request"])
    return format_html(
        'data-on-device-url="{}" data-runtime-url="{}" data-detector-url="{}" data-model-url="{}" data-parameters="{}"',
        static("js/on_device.js"),
        static("vendor/litertjs/litert.js"),
        reverse("emotion:on-device-model", args=["face_detector.tflite"]),
        reverse("emotion:on-device-model", args=["emotion.tflite"]),
        on_device.page_parameters_json(),
    )
