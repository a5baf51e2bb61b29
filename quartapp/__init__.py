"""quartapp: async sign-in for Quart. What an application built on it uses is named here."""

from quart_auth import login_required

from .db import get_session
from .factory import create_app
from .forms import Form
from .models import Model
from .reauth import recent_signin_required
from .sessions import SignedIn
from .users import current_user, signed_in_user

__all__ = [
    "Form",
    "Model",
    "SignedIn",
    "create_app",
    "current_user",
    "get_session",
    "login_required",
    "recent_signin_required",
    "signed_in_user",
]
