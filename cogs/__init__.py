"""Discord adapters: parse interactions into service calls and format the results."""
