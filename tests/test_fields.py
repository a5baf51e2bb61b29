"""quartapp's widgets write exactly what WTForms' write, only faster."""

import pytest
from wtforms.widgets.core import html_params as wtforms_html_params

from quartapp.fields import html_params


@pytest.mark.parametrize(
    "params",
    [
        {"name": "username", "id": "username", "type": "text", "value": ""},
        {"value": '"><script>alert(1)</script>', "title": "a & b < c > d 'e'"},
        {"required": True, "autofocus": False, "aria_invalid": "false", "aria_describedby": "a-errors a-hint"},
        {"class_": "wide", "data_passkey_box": "1", "for_": "x", "maxlength": 255, "checked": True},
    ],
)
def test_the_attributes_are_wtforms_own(params):
    assert html_params(**params) == wtforms_html_params(**params)
