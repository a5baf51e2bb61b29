"""quartapp: async sign-in for Quart. What an application built on it uses is named here."""

from quart_auth import login_required

from .auth_sessions import SignedIn
from .current_user import current_user, signed_in_user
from .db.engine import get_session
from .db.models import Model, User, UTCDateTime, utcnow
from .factory import create_app
from .forms import Form
from .ownership import account_deleted, account_deleting, account_exporting, DeletionRefused
from .reauth import recent_signin_required

__all__ = [
    "DeletionRefused",
    "Form",
    "Model",
    "SignedIn",
    "UTCDateTime",
    "User",
    "account_deleted",
    "account_deleting",
    "account_exporting",
    "create_app",
    "current_user",
    "get_session",
    "login_required",
    "recent_signin_required",
    "signed_in_user",
    "utcnow",
]
