"""Links built once per route, values and root path: the same links as Quart's, whatever the request."""

from quart import Blueprint

from .conftest import make_app, running_app


async def test_links_follow_the_root_path_values_and_options(tmp_path):
    async with running_app(tmp_path) as app:
        for root in ("", "/auth", "", "/auth"):  # each twice: built, then remembered
            async with app.test_request_context("/", root_path=root):
                assert app.url_for("account.sessions_page") == f"{root}/sessions"
                assert app.url_for("static", filename="style.css") == f"{root}/static/style.css"
                assert app.url_for("static", filename="favicon.svg") == f"{root}/static/favicon.svg"
                assert app.url_for("auth.signin", next="/sessions") == f"{root}/signin?next=/sessions"
                assert app.url_for("account.sessions_page", _external=True) == f"http://localhost{root}/sessions"
                assert app.url_for("account.sessions_page", _anchor="x") == f"{root}/sessions#x"


async def test_an_app_whose_links_depend_on_the_request_builds_them_each_time(tmp_path):
    bp = Blueprint("lang", __name__, url_prefix="/<lang>")

    @bp.url_defaults
    def add_language(endpoint: str, values: dict[str, str]) -> None:
        from quart import g

        values.setdefault("lang", g.get("lang", "en"))

    @bp.get("/hello")
    async def hello() -> str:
        return "hello"

    app = make_app(tmp_path)
    app.register_blueprint(bp)
    async with app.test_app():
        from quart import g

        for lang in ("en", "de", "en"):
            async with app.test_request_context("/"):
                g.lang = lang
                assert app.url_for("lang.hello") == f"/{lang}/hello"
