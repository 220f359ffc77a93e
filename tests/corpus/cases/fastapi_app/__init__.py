"""A small FastAPI service: SQLAlchemy session dependency, services, jobs, and its tests."""
