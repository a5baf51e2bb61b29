from flask_login import UserMixin

from . import bcrypt, db, login_manager


class User(db.Model, UserMixin):
    __tablename__ = "users"

    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(64), unique=True, nullable=False)
    _password = db.Column("password", db.String(128), nullable=False)

    def is_correct_password(self, plaintext: str) -> bool:
        return bcrypt.check_password_hash(self._password, plaintext)


@login_manager.user_loader
def load_user(userid: str) -> User | None:
    return User.query.filter(User.id == int(userid)).first()
