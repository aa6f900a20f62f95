"""Operations: health, readiness and metrics endpoints, logging set-up."""
