from flask_login import UserMixin

from . import bcrypt, db, login_manager


# db.Model is made at run time, which mypy cannot take as a base (python/mypy#8603), and
# Flask-Login publishes no types.
class User(db.Model, UserMixin):  # type: ignore[name-defined, misc]
    __tablename__ = "users"

    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(64), unique=True, nullable=False)
    _password = db.Column("password", db.String(128), nullable=False)

    def is_correct_password(self, plaintext: str) -> bool:
        correct: bool = bcrypt.check_password_hash(self._password, plaintext)  # Flask-Bcrypt has no types
        return correct


@login_manager.user_loader  # type: ignore[untyped-decorator]  # Flask-Login publishes no types
def load_user(userid: str) -> User | None:
    user: User | None = User.query.filter(User.id == int(userid)).first()
    return user
