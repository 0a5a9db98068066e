package io.kiln.engine.backend;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;

/**
 * A backend that hands every operation to another one through a test's {@link Interceptor}, which may look at
 * the call, change its result, fail it or just {@link Call#proceed() proceed}. The interface's default
 * methods ({@code fromHost}, {@code toHost}) run on the intercepted backend, so their uploads and downloads
 * are intercepted too.
 */
public final class InterceptedBackend {
    private InterceptedBackend() {
    }

    /** One call of a Backend method. */
    public interface Call {
        /** The method's name, e.g. {@code gemm}. */
        String op();

        Object[] args();

        /** Runs the call on the wrapped backend and returns its result. */
        Object proceed();
    }

    @FunctionalInterface
    public interface Interceptor {
        Object intercept(Call call);
    }

    public static Backend of(Backend inner, Interceptor interceptor) {
        InvocationHandler handler = (proxy, method, args) -> {
            if (method.isDefault()) {
                return InvocationHandler.invokeDefault(proxy, method, args);
            }
            Object[] a = args == null ? new Object[0] : args;
            return interceptor.intercept(new Call() {
                @Override
                public String op() {
                    return method.getName();
                }

                @Override
                public Object[] args() {
                    return a;
                }

                @Override
                public Object proceed() {
                    return invoke(inner, method, a);
                }
            });
        };
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, handler);
    }

    private static Object invoke(Backend inner, Method method, Object[] args) {
        try {
            return method.invoke(inner, args);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(e.getCause());
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }
}
