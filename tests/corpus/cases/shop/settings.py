from . import db


class Settings:
    session_factory = staticmethod(db.order_session)
    transaction_factory = staticmethod(db.transaction)


settings = Settings()
