package expr

// MarshalText lets a node appear in JSON as its canonical text.
func (e Column) MarshalText() ([]byte, error)       { return []byte(e.String()), nil }
func (e ColumnTagged) MarshalText() ([]byte, error) { return []byte(e.String()), nil }
func (e String) MarshalText() ([]byte, error)       { return []byte(e.String()), nil }
func (e Number) MarshalText() ([]byte, error)       { return []byte(e.String()), nil }
func (e Bool) MarshalText() ([]byte, error)         { return []byte(e.String()), nil }
func (e Null) MarshalText() ([]byte, error)         { return []byte(e.String()), nil }
func (e Call) MarshalText() ([]byte, error)         { return []byte(e.String()), nil }
func (e Unary) MarshalText() ([]byte, error)        { return []byte(e.String()), nil }
func (e Binary) MarshalText() ([]byte, error)       { return []byte(e.String()), nil }
func (e In) MarshalText() ([]byte, error)           { return []byte(e.String()), nil }
func (e Like) MarshalText() ([]byte, error)         { return []byte(e.String()), nil }
func (e IsNull) MarshalText() ([]byte, error)       { return []byte(e.String()), nil }
func (e Between) MarshalText() ([]byte, error)      { return []byte(e.String()), nil }
