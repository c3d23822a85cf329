package charter_test

import (
	"errors"
	"reflect"
	"testing"

	charter "charter.dev/charter"
)

// Every exported method of every handle type, called on a nil receiver
// with zero arguments (a nil context included), returns instead of
// panicking: Close returns nil, so `b, err := NewBus(); defer b.Close()`
// is safe when err is set, and any other method's error matches ErrClosed
// or ErrNullArgument.
func TestNilReceiversNeverPanic(t *testing.T) {
	receivers := []any{
		(*charter.Registry)(nil), (*charter.Bus)(nil), (*charter.Client)(nil),
		(*charter.Subscription)(nil), (*charter.Session)(nil), (*charter.KeyPair)(nil),
		(*charter.Token)(nil), (*charter.Authority)(nil), (*charter.AuditLog)(nil),
		(*charter.LogView)(nil), (*charter.Witness)(nil),
	}
	errorType := reflect.TypeFor[error]()
	for _, r := range receivers {
		v := reflect.ValueOf(r)
		for i := range v.NumMethod() {
			m := v.Type().Method(i)
			name := v.Type().Elem().Name() + "." + m.Name
			t.Run(name, func(t *testing.T) {
				fn := v.Method(i)
				args := make([]reflect.Value, fn.Type().NumIn())
				for j := range args {
					args[j] = reflect.Zero(fn.Type().In(j))
				}
				if fn.Type().IsVariadic() {
					args = args[:len(args)-1]
				}
				var out []reflect.Value
				func() {
					defer func() {
						if p := recover(); p != nil {
							t.Fatalf("panicked: %v", p)
						}
					}()
					out = fn.Call(args)
				}()
				for _, o := range out {
					if o.Kind() == reflect.Func && o.Type().NumIn() == 1 {
						// An iterator (iter.Seq2): ranging over it yields the error.
						yield := reflect.MakeFunc(o.Type().In(0), func(a []reflect.Value) []reflect.Value {
							if last := a[len(a)-1]; last.Type() == errorType && !last.IsNil() {
								checkNilError(t, last.Interface().(error))
							}
							return []reflect.Value{reflect.ValueOf(false)}
						})
						o.Call([]reflect.Value{yield})
					}
				}
				if len(out) == 0 || out[len(out)-1].Type() != errorType {
					return
				}
				err, _ := out[len(out)-1].Interface().(error)
				if m.Name == "Close" {
					if err != nil {
						t.Fatalf("Close on nil returned %v", err)
					}
					return
				}
				checkNilError(t, err)
			})
		}
	}
}

func checkNilError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("returned no error")
	}
	if !errors.Is(err, charter.ErrClosed) && !errors.Is(err, charter.ErrNullArgument) {
		t.Fatalf("returned %v, want ErrClosed or ErrNullArgument", err)
	}
}
